#!/usr/bin/env python
"""Where an import run spends its time: N staged users (no passwords) drained in-process,
one lane and one thread, under cProfile; time per phase of a batch, then the top functions.
With ``--statements``, no profiler: the process's own CPU time and the time spent waiting
for each kind of SQL statement (each COPY, each commit).

    .venv/bin/python benchmarks/profile_run.py [--users 20000] [--prefill 0] [--indexes] [--statements]

On the benchmark PostgreSQL (scripts/pg.sh), database ``$BENCH_DB`` (default importops_profile).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_DB", "importops_profile")
os.environ.setdefault("BENCH_DRAIN_THREADS", "1")

from benchmarks import run as bench  # noqa: E402

#: Phases of a batch: (label, function names whose cumulative seconds add up, ones to subtract).
PHASES = [
    ("claim a batch (lock records, SKIP LOCKED)", ["batch_step"], ["_batch"]),
    ("read + check staged users (Python)", ["read", "check"], []),
    ("unusable password column", ["encode_password"], []),
    ("judge: every check, one query per kind", ["judge"], []),
    ("  of which the user-table lookup", ["taken"], []),
    ("create users (one COPY from values) + groups", ["create"], []),
    ("  of which group memberships", ["change_groups"], []),
    ("record changes (the undo's snapshots)", ["_record_changes"], []),
    ("every COPY (users, memberships, identities, changes)", ["insert_rows"], []),
    ("waiting for PostgreSQL (psycopg wait, in every phase)", ["wait"], []),
    ("delete processed staging records", ["delete"], []),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--prefill", type=int, default=0, help="rows already in the user table")
    parser.add_argument("--indexes", action="store_true", help="run importops_user_indexes first")
    parser.add_argument("--statements", action="store_true", help="time SQL by statement, no profiler")
    args = parser.parse_args()
    subprocess.run([str(ROOT / "scripts/pg.sh"), "start"], check=True, capture_output=True)
    import django

    django.setup()
    from importops.models import ImportOperation
    from importops.services import operations, running, staging, user_indexes
    from importops.states import Status

    bench.prepare_template()
    template = bench.prefilled_template(args.prefill) if args.prefill else bench.TEMPLATE
    bench.fresh_database(template)
    if args.indexes:
        user_indexes.create()
    operation = operations.operation_create(user=None, importer_key="api", importer_name="api")
    started = time.perf_counter()
    staging.users_stage(operation_id=operation.pk, users=bench.users(args.users))
    staged = time.perf_counter() - started
    ImportOperation.objects.filter(pk=operation.pk).update(status=Status.USER_SELECTION)
    running.run_start(user=None)  # creates the lanes; the drain tasks it asks for are not queued
    if args.statements:
        statements(operation.pk, args.users, staged)
        return
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.runcall(running.drain, operation_id=operation.pk)
    drained = time.perf_counter() - started
    operation.refresh_from_db()
    assert operation.status == Status.DONE, operation.status

    stats = pstats.Stats(profiler)
    by_name: dict[str, float] = {}
    for (filename, _, name), (_, _, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "importops" in filename or name in ("delete",) or (name == "wait" and "psycopg" in filename):
            by_name[name] = max(by_name.get(name, 0.0), cumulative)
    print(f"{args.users:,} users; user table pre-filled with {args.prefill:,} rows; indexes: {args.indexes}")
    print(f"  staging (import.addUsers path): {staged:.2f} s = {args.users / staged:,.0f} users/s")
    print(f"  run, in-process, 1 lane, 1 thread, under cProfile: {drained:.2f} s = {args.users / drained:,.0f} users/s")
    for label, plus, minus in PHASES:
        seconds = sum(by_name.get(name, 0.0) for name in plus) - sum(by_name.get(name, 0.0) for name in minus)
        share, per_user = 100 * seconds / drained, 1e6 * seconds / args.users
        print(f"    {label:<60} {seconds:6.2f} s {share:5.1f}% {per_user:6.1f} us/user")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    print(out.getvalue())


def statements(operation_id: str, count: int, staged: float) -> None:
    """Drain the run with every SQL statement, COPY and commit timed (wall time, less the
    Python the call runs itself: what waiting for PostgreSQL costs)."""
    import collections
    import re

    from django.db import connection
    from django.db.backends.base import base

    from importops import bulk, users
    from importops.services import batches, running

    spent: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])

    def timed(key: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return call(*args, **kwargs)
        finally:
            spent[key][0] += 1
            spent[key][1] += (time.perf_counter() - started) - (time.process_time() - cpu)

    def execute(call: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        return timed(re.sub(r"\s+", " ", sql)[:80], call, sql, params, many, context)

    insert_rows, commit = bulk.insert_rows, base.BaseDatabaseWrapper.commit

    def copy(model: Any, *args: Any, **kwargs: Any) -> Any:
        return timed(f"COPY {model._meta.db_table}", insert_rows, model, *args, **kwargs)

    for module in (bulk, batches, users):
        module.insert_rows = copy  # type: ignore[attr-defined]
    base.BaseDatabaseWrapper.commit = lambda self: timed("COMMIT", commit, self)  # type: ignore[method-assign]
    started, cpu = time.perf_counter(), time.process_time()
    with connection.execute_wrapper(execute):
        running.drain(operation_id=operation_id)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    waited = sum(seconds for _, seconds in spent.values())
    print(f"{count:,} users; staging {count / staged:,.0f} users/s")
    print(f"  run, in-process, 1 lane, 1 thread: {wall:.2f} s = {count / wall:,.0f} users/s")
    print(f"  Python (this process's CPU): {1e6 * cpu / count:5.1f} us/user")
    print(f"  waiting for PostgreSQL:      {1e6 * waited / count:5.1f} us/user, by statement:")
    for key, (calls, seconds) in sorted(spent.items(), key=lambda item: -item[1][1])[:14]:
        print(f"    {1e6 * seconds / count:5.1f} us/user {calls:5.0f}x  {key}")


if __name__ == "__main__":
    main()
