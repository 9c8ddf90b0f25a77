"""Fault injection with real processes (a gunicorn server, an importops worker) on a
throwaway PostgreSQL cluster that the tests restart, stop and whose sessions they kill:
each run still ends done, every user exactly once, counters exact, with no restart of the
worker and no cron.

Runs only in the fault leg of scripts/test.sh (``-m faults``), which starts a cluster of its
own and sets IMPORTOPS_FAULT_CLUSTER=1: these tests take the database down.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError, connection

from importops.models import AuthToken, ImportedIdentity, ImportFailure, ImportOperation, ImportRecord
from tests.live import ROOT, Server, Worker, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]
User = get_user_model()

USERS = 3000
WITH_PASSWORDS = 100  # hashed in a second transaction per batch: both paths meet the faults
INVALID_EVERY = 50  # every 50th user has an invalid email: 60 failures with their code
CREATED = USERS - USERS // INVALID_EVERY
WORKER_ENV = {"IMPORTOPS_BATCH_SIZE": "20", "IMPORTOPS_LEASE_SECONDS": "60"}


# -- the cluster ----------------------------------------------------------------------


def cluster(action: str) -> None:
    """``scripts/pg.sh start|stop|restart`` on the cluster the tests run against."""
    if os.environ.get("IMPORTOPS_FAULT_CLUSTER") != "1":
        pytest.fail("fault tests restart their database: run them through scripts/test.sh's fault leg")
    port = str(connection.settings_dict["PORT"])
    env = {**os.environ, "PGPORT_TEST": port}
    subprocess.run([str(ROOT / "scripts" / "pg.sh"), action], check=True, env=env, stdout=subprocess.DEVNULL)


@pytest.fixture(autouse=True)
def cluster_up_afterwards():
    cluster("url")  # fails early outside the fault leg
    yield
    cluster("start")
    connection.close()


def db(query: Callable[[], Any], timeout: float = 90) -> Any:
    """Run ``query`` on this process's connection, reconnecting after the faults."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return query()
        except (OperationalError, InterfaceError):
            connection.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def superuser_connection() -> psycopg.Connection:
    s = connection.settings_dict
    return psycopg.connect(host=s["HOST"], port=s["PORT"], user=s["USER"], dbname=s["NAME"], autocommit=True)


# -- the import -----------------------------------------------------------------------


def dataset(prefix: str) -> list[dict[str, Any]]:
    users = []
    for n in range(USERS):
        user: dict[str, Any] = {
            "emails": [f"{prefix}{n}@example.com"],
            "importIds": [f"{prefix}-{n}"],
            "username": f"{prefix}{n}",
        }
        if n % INVALID_EVERY == INVALID_EVERY - 1:
            user["emails"] = [f"{prefix}{n}-not-an-email"]
        if n < WITH_PASSWORDS:
            user["password"] = f"pw-{prefix}-{n}"
        users.append(user)
    return users


class Client:
    """An API client over HTTP, as an operator's script would be."""

    def __init__(self, server: Server, user: Any) -> None:
        _, raw = AuthToken.objects.issue(user=user)
        self.url = server.url
        self.headers = {"X-User-Id": str(user.pk), "X-Auth-Token": raw, "Content-Type": "application/json"}

    def call(self, method: str, endpoint: str, body: Any = None, timeout: float = 60) -> tuple[int, dict, Any]:
        data = json.dumps(body).encode() if body is not None else None
        path = endpoint if endpoint.startswith("/") else f"/api/v1/{endpoint}"
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return response.status, dict(response.headers), json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), json.loads(exc.read())


def stage(client: Client, prefix: str) -> str:
    assert client.call("POST", "import.new")[0] == 200
    users = dataset(prefix)
    for start in range(0, USERS, 1000):
        status, _, body = client.call("POST", "import.addUsers", {"users": users[start : start + 1000]})
        assert status == 200, body
    return client.call("GET", "import.status")[2]["operation"]["_id"]


def progress(operation_id: str) -> tuple[str, int, int]:
    def read() -> tuple[str, int, int]:
        operation = ImportOperation.objects.with_progress().get(pk=operation_id)
        return operation.status, operation.completed, operation.failed

    return db(read)


def under_way(operation_id: str, at_least: int = 200) -> tuple[str, int, int]:
    return wait_for(lambda: (p := progress(operation_id))[1] >= at_least and p, timeout=120, what="the run to start")


def assert_exact(operation_id: str, prefix: str) -> None:
    """Done; every user exactly once; counters equal to what exists."""
    status, completed, failed = wait_for(
        lambda: (p := progress(operation_id))[0] in ("importer_done", "importer_import_failed") and p,
        timeout=240,
        what="the run to end",
    )
    operation = db(lambda: ImportOperation.objects.get(pk=operation_id))
    assert status == "importer_done", operation.failure_reason
    assert (completed, failed) == (CREATED, USERS - CREATED)
    email = User.get_email_field_name()
    users = User._default_manager.filter(**{f"{email}__startswith": prefix, f"{email}__endswith": "@example.com"})
    assert users.count() == CREATED == users.values(email).distinct().count()
    assert ImportedIdentity.objects.filter(operation_id=operation_id).count() == CREATED
    failures = ImportFailure.objects.filter(operation_id=operation_id)
    assert failures.count() == USERS - CREATED == failures.values("import_id").distinct().count()
    assert set(failures.values_list("code", flat=True)) == {"importer-user-invalid-email"}
    assert not ImportRecord.objects.filter(operation_id=operation_id, failed=False).exists()
    assert users.get(**{email: f"{prefix}7@example.com"}).check_password(f"pw-{prefix}-7")


def web_server(tmp_path: Path) -> Server:
    """gunicorn, queueing runs to the worker (not running them inline)."""
    return Server(tmp_path, workers=2, threads=4, IMPORTOPS_TASK_BACKEND="worker")


@pytest.fixture
def processes(tmp_path, admin, settings):
    settings.IMPORTOPS = {**settings.IMPORTOPS, "TASK_BACKEND": "worker", "PARALLELISM": 4}
    worker = Worker(tmp_path, "faults", **WORKER_ENV)
    server = web_server(tmp_path)
    yield server, worker, Client(server, admin)
    server.stop()
    worker.stop()
    print(f"\n--- worker log ({worker.popen.returncode=}) ---\n" + worker.output()[-3000:])


def assert_worker_rode_it_out(worker: Worker) -> None:
    assert worker.popen.poll() is None, "the worker exited:\n" + worker.output()
    log = worker.output()
    assert "Traceback" not in log, log
    # One line when the database goes, one when it is back: not a line per poll.
    assert log.count("database fault during") <= 4, log


# -- the faults -----------------------------------------------------------------------


def test_database_restarted_mid_run(processes):
    server, worker, client = processes
    operation_id = stage(client, "fr")
    assert client.call("POST", "import.run")[0] == 200
    status, completed, _ = under_way(operation_id)
    assert completed < CREATED
    cluster("restart")
    assert_exact(operation_id, "fr")
    assert_worker_rode_it_out(worker)
    assert "database available again" in worker.output()


def test_database_stopped_for_15_seconds_mid_run(processes):
    server, worker, client = processes
    operation_id = stage(client, "fs")
    assert client.call("POST", "import.run")[0] == 200
    _, completed, _ = under_way(operation_id)
    assert completed < CREATED
    cluster("stop")
    stopped = time.monotonic()
    connection.close()
    late = Worker(server.log_path.parent, "started-during-the-outage", **WORKER_ENV)
    answers = []
    while time.monotonic() - stopped < 15:
        for method, endpoint in [("GET", "import.status"), ("POST", "import.new"), ("GET", "getImportProgress")]:
            answers.append(client.call(method, endpoint, timeout=30))
        time.sleep(1)
    ready = client.call("GET", "/importops/health/ready")
    cluster("start")
    assert answers and all(status == 503 for status, _, _ in answers), answers
    assert all(headers.get("Retry-After") == "5" for _, headers, _ in answers)
    assert {body["error"] for _, _, body in answers} == {
        "The database is unavailable. Try again shortly. [error-database-unavailable]"
    }
    assert ready[0] == 503 and ready[2]["error"] == "database unreachable"
    assert_exact(operation_id, "fs")
    assert_worker_rode_it_out(worker)
    wait_for(lambda: "database available again" in late.output(), timeout=30, what="the late worker to connect")
    assert_worker_rode_it_out(late)
    assert late.output().count("database fault during") == 1, late.output()
    late.stop()
    assert client.call("GET", "/importops/health/ready")[0] == 200


def test_sessions_terminated_repeatedly_during_a_run(processes):
    server, worker, client = processes
    operation_id = stage(client, "ft")
    assert client.call("POST", "import.run")[0] == 200
    under_way(operation_id, at_least=50)
    killed: list[int] = []  # sessions killed per round, in rounds while the run was going
    done = threading.Event()
    table = ImportOperation._meta.db_table

    def terminate() -> None:
        with superuser_connection() as killer:
            while not done.wait(0.3):
                (status,) = killer.execute(f"SELECT status FROM {table} WHERE id = %s", [operation_id]).fetchone()
                rows = killer.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                ).fetchall()
                if rows and status.startswith("importer_importing"):
                    killed.append(len(rows))

    killer = threading.Thread(target=terminate)
    killer.start()
    try:
        wait_for(
            lambda: progress(operation_id)[0] in ("importer_done", "importer_import_failed"),
            timeout=240,
            what="the run to end",
        )
    finally:
        done.set()
        killer.join()
    assert len(killed) >= 3, killed  # rounds that killed sessions while the run was going
    assert_exact(operation_id, "ft")
    assert worker.popen.poll() is None, worker.output()


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_web_server_killed_mid_add_users(processes, tmp_path, admin):
    server, worker, client = processes
    assert client.call("POST", "import.new")[0] == 200
    users = dataset("fw")
    answers: list[Any] = []

    def send() -> None:
        try:
            answers.append(client.call("POST", "import.addUsers", {"users": users}, timeout=60))
        except OSError as exc:  # the connection dies with the server
            answers.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    with superuser_connection() as watcher:
        # Kill the server while its addUsers transaction is open (records being inserted).
        wait_for(
            lambda: watcher.execute(
                "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND backend_xid IS NOT NULL "
                "AND query ILIKE '%importops_importrecord%' AND pid <> pg_backend_pid()"
            ).fetchone(),
            timeout=60,
            interval=0.005,
            what="addUsers to be inserting",
        )
        for pid in [*children(server.popen.pid), server.popen.pid]:
            os.kill(pid, signal.SIGKILL)
        sender.join(timeout=60)
        wait_for(
            lambda: (
                not watcher.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND backend_xid IS NOT NULL "
                    "AND pid <> pg_backend_pid()"
                ).fetchone()
            ),
            timeout=60,
            what="the killed request's transaction to end",
        )
    assert answers and isinstance(answers[0], OSError), answers
    staged = db(lambda: ImportRecord.objects.count())
    assert staged in (0, USERS)  # all or nothing
    replacement = web_server(tmp_path)
    try:
        client.url = replacement.url
        if staged == 0:
            assert client.call("POST", "import.addUsers", {"users": users})[0] == 200
        operation_id = client.call("GET", "import.status")[2]["operation"]["_id"]
        assert client.call("POST", "import.run")[0] == 200
        assert_exact(operation_id, "fw")
    finally:
        replacement.stop()
    assert_worker_rode_it_out(worker)
