#!/usr/bin/env python
"""Where an import run spends its time: N staged users (no passwords) drained in-process,
one lane and one thread, under cProfile; time per phase of a batch, then the top functions.

    .venv/bin/python benchmarks/profile_run.py [--users 20000] [--prefill 0] [--indexes]

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
    ("create users (one INSERT from values) + groups", ["create"], []),
    ("  of which group memberships", ["change_groups"], []),
    ("record changes (the undo's snapshots)", ["_record_changes"], []),
    ("every row insert (users, memberships, identities, changes)", ["insert_rows"], []),
    ("waiting for PostgreSQL (psycopg wait, in every phase)", ["wait"], []),
    ("delete processed staging records", ["delete"], []),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--prefill", type=int, default=0, help="rows already in the user table")
    parser.add_argument("--indexes", action="store_true", help="run importops_user_indexes first")
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


if __name__ == "__main__":
    main()
