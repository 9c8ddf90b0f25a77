#!/usr/bin/env python
"""importops benchmark: an ``update`` re-run of N unchanged users against the create run of
the same N users, measured in the same run with one real worker process.

    .venv/bin/python benchmarks/sync.py [--users 100000]

On a throwaway PostgreSQL (scripts/pg.sh): a fresh database; N users staged and imported
(the create run, timed from ``import.run`` to ``importer_done``); the same N users staged
again and imported with ``existingUsers: "update"`` (every user matched by importId,
compared field by field, counted unchanged); then the same with ``skip``. Printed as
users/s and as a ratio to the create run. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.run import WorkerProcess, fresh_database, prepare_template, users  # noqa: E402


def timed_run(count: int, *, policy: str, log_dir: Path) -> dict[str, float]:
    """Stage ``count`` users in a new operation and import them with ``policy``."""
    from django.db import connections

    from importops.models import ImportOperation
    from importops.services import operations, running, staging
    from importops.states import Status
    from importops.tasks import enqueue

    operation = operations.operation_create(user=None, importer_key="api", importer_name="api")
    staging.users_stage(operation_id=operation.pk, users=users(count))
    ImportOperation.objects.filter(pk=operation.pk).update(status=Status.USER_SELECTION)
    connections.close_all()
    worker = WorkerProcess(f"sync-{policy}", log_dir)
    deadline = time.monotonic() + 60
    while not worker.ready():
        if time.monotonic() > deadline:
            raise SystemExit("the worker did not start: see " + str(log_dir))
        time.sleep(0.05)
    started = time.perf_counter()
    enqueue(running.run_start(user=None, existing_users=policy))
    while (current := ImportOperation.objects.with_progress().get(pk=operation.pk)).status in (
        Status.IMPORTING_STARTED,
        Status.IMPORTING_USERS,
    ):
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    worker.stop()
    if current.status != Status.DONE or current.completed != count:
        raise SystemExit(f"run ended {current.status} with {current.completed}/{count}: {current.failure_reason}")
    return {"seconds": seconds, "rate": count / seconds, **current.outcomes()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000, help="N (default 100,000)")
    args = parser.parse_args()
    url = subprocess.run([str(ROOT / "scripts/pg.sh"), "start"], check=True, capture_output=True, text=True)
    print(f"PostgreSQL: {url.stdout.strip()}", flush=True)
    import django

    django.setup()
    log_dir = ROOT / "benchmarks" / "results"
    log_dir.mkdir(exist_ok=True)
    prepare_template()
    fresh_database()
    n = args.users
    create = timed_run(n, policy="fail", log_dir=log_dir)
    print(f"  create run of {n:,} users            {create['rate']:>10,.0f} users/s  ({create['seconds']:.1f} s)")
    for policy in ("update", "skip"):
        again = timed_run(n, policy=policy, log_dir=log_dir)
        assert again["created"] == 0 and again["updated"] == 0, again
        print(
            f"  {policy} re-run, all {n:,} unchanged  {again['rate']:>10,.0f} users/s  ({again['seconds']:.1f} s)"
            f"  = {again['rate'] / create['rate']:.2f}x the create run",
            flush=True,
        )


if __name__ == "__main__":
    main()
