#!/usr/bin/env python
"""importops benchmark: a real import run against baselines measured in the same run.

    .venv/bin/pip install -r benchmarks/requirements.txt
    .venv/bin/python benchmarks/run.py [--users 100000] [--scale 10] [--password-users 200]
                                       [--prefill 1000000]

On a throwaway PostgreSQL (scripts/pg.sh) and Redis (scripts/redis.sh), each measurement in
a fresh database:

1. importops: N staged users (no passwords) imported by one real worker process
   (``manage.py importops_worker``), then by two, timed from ``import.run`` to
   ``importer_done`` (the run's own ``started_at`` and ``finished_at``); and end to end,
   staging (the ``import.addUsers`` path) included. The user table has the indexes of
   ``manage.py importops_user_indexes``, as advised for production (item 6 shows the run
   without them);
2. baseline: ``User.objects.bulk_create`` of the same users in batches of 1,000 into an
   empty user table, right before and right after the runs of item 1 (the mean is the
   baseline: the machine's speed drifts over a full run);
3. baseline: django-import-export importing the same rows in its bulk mode;
4. peak RSS of the worker for N and for scale x N users (goal: flat, <= 300 MB);
5. users/s with 1 and 2 RQ workers (``manage.py importops_rqworker``, one hashing thread
   each) for users that all carry a plaintext password (the project's own hasher); one
   worker right before and right after two, the mean its figure;
6. N users into a user table already holding ``--prefill`` rows vs an empty one, without
   and with the indexes of ``manage.py importops_user_indexes`` (each pair back to back).

Figures are printed as ratios against baselines measured in the same run. Not part of the
test suite.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
DB = os.environ.setdefault("BENCH_DB", "importops_bench")
TEMPLATE = f"{DB}_template"


def users(count: int, *, password: bool = False, start: int = 0) -> Iterator[dict[str, Any]]:
    for n in range(start, start + count):
        user = {
            "emails": [f"user{n}@example.com"],
            "importIds": [f"bench-{n}"],
            "username": f"user{n}",
            "name": f"User Number{n}",
        }
        if password:
            user["password"] = f"password-{n}"
        yield user


# -- databases --------------------------------------------------------------------------


def admin_sql(*statements: str) -> None:
    import psycopg

    port = os.environ.get("PGPORT_TEST", "54329")
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def fresh_database(template: str = TEMPLATE) -> None:
    """A migrated database copied from ``template`` (migrated once; maybe pre-filled)."""
    from django.db import connections

    connections.close_all()
    admin_sql(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)', f'CREATE DATABASE "{DB}" TEMPLATE "{template}"')


def prefilled_template(rows: int) -> str:
    """A template whose user table already holds ``rows`` users (none clashing with the
    benchmark's), built in SQL."""
    from django.db import connection, connections

    name = f"{DB}_prefilled"
    fresh_database()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
            "is_active, date_joined) SELECT '!', false, 'host' || n, 'Host', 'User' || n, "
            "'Host' || n || '@Example.org', false, true, now() FROM generate_series(1, %s) AS n",
            [rows],
        )
        cursor.execute("VACUUM ANALYZE auth_user")
    connections.close_all()
    admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'ALTER DATABASE "{DB}" RENAME TO "{name}"')
    return name


def prepare_template() -> None:
    from django.core.management import call_command
    from django.db import connections

    admin_sql(
        f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)',
        f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)',
        f'CREATE DATABASE "{DB}"',
    )
    call_command("migrate", verbosity=0)
    connections.close_all()
    admin_sql(f'ALTER DATABASE "{DB}" RENAME TO "{TEMPLATE}"')


# -- importops with real workers ------------------------------------------------------------


class WorkerProcess:
    def __init__(self, name: str, log_dir: Path, env: dict[str, str] | None = None, *, engine: str = "db") -> None:
        self.log = log_dir / f"worker-{name}.log"
        if engine == "rq":
            command = ["importops_rqworker", "--name", f"{name}-{os.getpid()}-{time.monotonic_ns()}"]
            env = {**(env or {}), "BENCH_TASK_BACKEND": "rq"}
            self.ready_line = "Listening on"
        else:
            command = ["importops_worker", "--no-startup-delay", "--interval", "0.05", "--worker-id", name]
            self.ready_line = "Starting worker"
        self.popen = subprocess.Popen(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def ready(self) -> bool:
        return self.ready_line in self.log.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM (graceful), then the peak resident set size in bytes."""
        self.popen.send_signal(signal.SIGTERM)
        _, _, usage = os.wait4(self.popen.pid, 0)
        self.popen.returncode = 0
        return usage.ru_maxrss * 1024


def importops_run(
    count: int,
    *,
    workers: int,
    password: bool,
    log_dir: Path,
    env: dict[str, str] | None = None,
    engine: str = "db",
    template: str = TEMPLATE,
    indexes: bool = False,
) -> dict[str, float]:
    from django.conf import settings
    from django.db import connections
    from django.test import override_settings

    from importops.models import ImportOperation
    from importops.services import operations, running, staging, user_indexes
    from importops.states import Status
    from importops.tasks import enqueue

    fresh_database(template)
    if indexes:
        user_indexes.create()
    operation = operations.operation_create(user=None, importer_key="api", importer_name="api")
    started = time.perf_counter()
    staging.users_stage(operation_id=operation.pk, users=users(count, password=password))
    staging_seconds = time.perf_counter() - started
    ImportOperation.objects.filter(pk=operation.pk).update(status=Status.USER_SELECTION)
    connections.close_all()

    pool = [WorkerProcess(f"bench-{n}", log_dir, env, engine=engine) for n in range(workers)]
    deadline = time.monotonic() + 60
    while not all(w.ready() for w in pool):
        if time.monotonic() > deadline:
            raise SystemExit("workers did not start: see " + str(log_dir))
        time.sleep(0.05)

    with override_settings(IMPORTOPS={**settings.IMPORTOPS, "TASK_BACKEND": "rq" if engine == "rq" else "default"}):
        enqueue(running.run_start(user=None))
    # The run's time is its own record (started_at: import.run; finished_at: the worker that
    # finished it), so the wait polls seldom: a poll is work this machine's cores would
    # otherwise give the run.
    running_states = (Status.IMPORTING_STARTED, Status.IMPORTING_USERS)
    while ImportOperation.objects.filter(pk=operation.pk, status__in=running_states).exists():
        time.sleep(0.25)
    current = ImportOperation.objects.with_progress().get(pk=operation.pk)
    seconds = current.duration() or 0.0
    rss = max(w.stop() for w in pool)
    if current.status != Status.DONE or current.completed != count:
        raise SystemExit(f"run ended {current.status} with {current.completed}/{count}: {current.failure_reason}")
    return {
        "seconds": seconds,
        "rate": count / seconds,
        "rss": rss,
        "staging_rate": count / staging_seconds,
        "end_to_end_rate": count / (staging_seconds + seconds),
    }


# -- baselines ----------------------------------------------------------------------------


def bulk_create_baseline(count: int) -> dict[str, float]:
    from django.contrib.auth.models import User

    fresh_database()
    rows = list(users(count))
    started = time.perf_counter()
    User.objects.bulk_create(
        (
            User(
                username=r["username"],
                email=r["emails"][0],
                first_name=r["name"].split()[0],
                last_name=r["name"].split()[1],
                password="!unusable",
            )
            for r in rows
        ),
        batch_size=1000,
    )
    seconds = time.perf_counter() - started
    assert User.objects.count() == count
    return {"seconds": seconds, "rate": count / seconds}


def import_export_baseline(count: int, *, tuned: bool) -> dict[str, float]:
    """django-import-export's bulk mode (``use_bulk``, batches of 1,000), rows identified by
    username (so existing users would be updated, as a user import needs); ``tuned`` adds
    the two options its documentation advises for speed when every row is new
    (``skip_diff``, ``force_init_instance``: no lookup, no diff)."""
    import tablib
    from django.contrib.auth.models import User
    from import_export import resources

    class Meta:
        model = User
        fields = ("username", "email", "first_name", "last_name", "password")
        import_id_fields = ("username",)
        use_bulk = True
        batch_size = 1000
        skip_diff = tuned
        force_init_instance = tuned

    resource = type("UserResource", (resources.ModelResource,), {"Meta": Meta})()
    fresh_database()
    dataset = tablib.Dataset(headers=["username", "email", "first_name", "last_name", "password"])
    for r in users(count):
        first, last = r["name"].split()
        dataset.append([r["username"], r["emails"][0], first, last, "!unusable"])
    started = time.perf_counter()
    result = resource.import_data(dataset, dry_run=False, raise_errors=True, use_transactions=True)
    seconds = time.perf_counter() - started
    assert not result.has_errors() and User.objects.count() == count
    return {"seconds": seconds, "rate": count / seconds}


# -- report ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000, help="N (default 100,000)")
    parser.add_argument("--scale", type=int, default=10, help="RSS is also measured for scale x N (0: skip)")
    parser.add_argument("--password-users", type=int, default=200, help="users with passwords (0: skip)")
    parser.add_argument("--prefill", type=int, default=1_000_000, help="rows already in the user table (0: skip)")
    args = parser.parse_args()

    url = subprocess.run([str(ROOT / "scripts/pg.sh"), "start"], check=True, capture_output=True, text=True)
    redis_url = subprocess.run([str(ROOT / "scripts/redis.sh"), "url"], capture_output=True, text=True).stdout
    redis_was_up = _answers(redis_url)
    redis = subprocess.run([str(ROOT / "scripts/redis.sh"), "start"], check=True, capture_output=True, text=True)
    os.environ["BENCH_REDIS_URL"] = redis.stdout.strip()
    print(f"PostgreSQL: {url.stdout.strip()}; Redis: {redis.stdout.strip()}", flush=True)
    try:
        report(args)
    finally:
        if not redis_was_up:
            subprocess.run([str(ROOT / "scripts/redis.sh"), "stop"], check=False)


def _answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url.strip(), socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def report(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from importops.conf import importops_settings

    log_dir = ROOT / "benchmarks" / "results"
    log_dir.mkdir(exist_ok=True)
    prepare_template()
    n = args.users
    print(
        f"N = {n:,} users without passwords; batches up to {importops_settings.BATCH_SIZE:,}, "
        f"PARALLELISM {importops_settings.PARALLELISM}; PostgreSQL {connection.pg_version // 10000}",
        flush=True,
    )

    def line(label: str, result: dict[str, float], key: str = "rate") -> None:
        print(f"  {label:<42} {result[key]:>10,.0f} users/s  ({result['seconds']:.1f} s)", flush=True)

    iex = import_export_baseline(n, tuned=False)
    line("django-import-export, bulk mode", iex)
    tuned = import_export_baseline(n, tuned=True)
    line("  ... + skip_diff, force_init_instance", tuned)
    # bulk_create right before and right after the importops runs, its mean the baseline:
    # the machine's speed drifts over a full run, and the ratios are what count.
    before = bulk_create_baseline(n)
    ours = importops_run(n, workers=1, password=False, log_dir=log_dir, indexes=True)
    one_thread = {"BENCH_DRAIN_THREADS": "1"}
    two = importops_run(n, workers=2, password=False, log_dir=log_dir, env=one_thread, indexes=True)
    after = bulk_create_baseline(n)
    base = {"rate": (before["rate"] + after["rate"]) / 2, "seconds": (before["seconds"] + after["seconds"]) / 2}
    line("bulk_create, batches of 1,000", base)
    print(f"     (before the importops runs {before['rate']:,.0f} users/s, after {after['rate']:,.0f})")
    line(f"importops run, 1 worker ({importops_settings.DRAIN_THREADS} threads)", ours)
    print(
        f"     = {ours['rate'] / base['rate']:.2f}x bulk_create (goal >= 1.0x); "
        f"{ours['rate'] / iex['rate']:.1f}x django-import-export bulk mode, "
        f"{ours['rate'] / tuned['rate']:.2f}x tuned"
    )
    line("importops run, 2 workers (1 thread each)", two)
    print(f"     = {two['rate'] / base['rate']:.2f}x bulk_create (goal >= 1.0x)")
    for label, result in (("1 worker", ours), ("2 workers", two)):
        print(
            f"  end to end, {label} (staging {result['staging_rate']:,.0f} users/s + run): "
            f"{result['end_to_end_rate']:,.0f} users/s = {result['end_to_end_rate'] / base['rate']:.2f}x bulk_create "
            "(goal >= 0.6x)",
            flush=True,
        )
    print(f"  peak worker RSS, N = {n:,}: {ours['rss'] / 2**20:.0f} MB", flush=True)
    if args.scale:
        big = importops_run(n * args.scale, workers=1, password=False, log_dir=log_dir, indexes=True)
        print(
            f"  peak worker RSS, {args.scale} x N = {n * args.scale:,}: {big['rss'] / 2**20:.0f} MB "
            f"({big['rss'] / ours['rss']:.2f}x of N; goal <= 1.2x, <= 300 MB); {big['rate']:,.0f} users/s",
            flush=True,
        )
    if args.password_users:
        count = args.password_users
        hasher = settings.PASSWORD_HASHERS[0].rsplit(".", 1)[-1] if hasattr(settings, "PASSWORD_HASHERS") else ""
        env = {"BENCH_DRAIN_THREADS": "1"}  # one hashing thread per worker
        # One worker right before and right after two (their mean is the baseline), as for
        # bulk_create: two hashing workers need both cores, and the machine's speed drifts.
        before = importops_run(count, workers=1, password=True, log_dir=log_dir, env=env, engine="rq")
        two = importops_run(count, workers=2, password=True, log_dir=log_dir, env=env, engine="rq")
        after = importops_run(count, workers=1, password=True, log_dir=log_dir, env=env, engine="rq")
        one = (before["rate"] + after["rate"]) / 2
        print(
            f"  {count} users with plaintext passwords ({hasher or 'default hasher'}), RQ, DRAIN_THREADS=1: "
            f"1 worker {one:.2f} users/s (before {before['rate']:.2f}, after {after['rate']:.2f}), "
            f"2 workers {two['rate']:.2f} users/s ({two['rate'] / one:.2f}x; goal >= 1.8x)",
            flush=True,
        )
    if args.prefill:
        plain = importops_run(n, workers=1, password=False, log_dir=log_dir)
        template = prefilled_template(args.prefill)
        full = importops_run(n, workers=1, password=False, log_dir=log_dir, template=template)
        # Each pair measured back to back: the machine's speed drifts over a full run.
        empty_indexed = importops_run(n, workers=1, password=False, log_dir=log_dir, indexes=True)
        full_indexed = importops_run(n, workers=1, password=False, log_dir=log_dir, template=template, indexes=True)
        print(f"  N = {n:,} users into a user table of {args.prefill:,} rows vs an empty one:", flush=True)
        print(
            f"    without the indexes: {full['rate']:,.0f} vs {plain['rate']:,.0f} users/s "
            f"= {full['rate'] / plain['rate']:.2f}x",
            flush=True,
        )
        print(
            f"    with the indexes:    {full_indexed['rate']:,.0f} vs {empty_indexed['rate']:,.0f} users/s "
            f"= {full_indexed['rate'] / empty_indexed['rate']:.2f}x (goal >= 0.9x)",
            flush=True,
        )


if __name__ == "__main__":
    main()
