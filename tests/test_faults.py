"""Transient database faults, in process (docs/architecture.md, "Transient faults": retried at the unit of
work): which errors pass, a unit run again until a deadline, a run and a parse that meet a
fault at every kind of statement and still end exact, 503s while the database is away, health
checks, storage faults. (test_e2e_faults.py restarts and stops a real PostgreSQL.)"""

from __future__ import annotations

import errno
import io
import os
import re
import sqlite3
from contextlib import contextmanager
from typing import Any

import psycopg.errors
import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import File
from django.core.files.storage import InMemoryStorage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DataError, IntegrityError, OperationalError, connection
from django.test import Client

from importops import retry
from importops.errors import DatabaseUnavailable
from importops.models import ImportedIdentity, ImportOperation, ImportRecord
from importops.services import parsing, running
from tests.conftest import users_payload
from tests.files import upload_body, users_csv

User = get_user_model()


def transient(message: str = "terminating connection due to administrator command") -> OperationalError:
    """What Django raises when PostgreSQL terminates a connection (SQLSTATE 57P01)."""
    error = OperationalError(message)
    error.__cause__ = psycopg.errors.AdminShutdown(message)
    return error


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    monkeypatch.setattr(retry, "FIRST_DELAY", 0.001)
    monkeypatch.setattr(retry, "MAX_DELAY", 0.01)


# -- classification -------------------------------------------------------------------


@pytest.mark.parametrize(
    "driver_error",
    [
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.errors.CrashShutdown("terminating connection because of crash of another server process"),
        psycopg.errors.CannotConnectNow("the database system is starting up"),
        psycopg.errors.SerializationFailure("could not serialize access"),
        psycopg.errors.DeadlockDetected("deadlock detected"),
        psycopg.errors.LockNotAvailable("could not obtain lock"),
        psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
        psycopg.errors.ReadOnlySqlTransaction("cannot execute UPDATE in a read-only transaction"),
        psycopg.errors.ConnectionFailure("connection failure"),
        psycopg.OperationalError("connection failed: Connection refused"),  # no SQLSTATE
        psycopg.InterfaceError("the connection is closed"),
    ],
)
def test_passing_faults_are_transient(driver_error):
    error = OperationalError(str(driver_error))
    error.__cause__ = driver_error
    assert retry.is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        IntegrityError("duplicate key"),
        DataError("value too long"),
        ValueError("a bug"),
        OperationalError("no such table: importops_importoperation"),
        psycopg.errors.UndefinedTable("relation does not exist"),
        psycopg.errors.DiskFull("could not extend file: No space left on device"),
    ],
)
def test_permanent_errors_are_not_transient(error):
    wrapped = OperationalError(str(error))
    wrapped.__cause__ = error
    assert not retry.is_transient(error) and not retry.is_transient(wrapped)


def test_sqlite_busy_is_transient():
    error = OperationalError("database is locked")
    error.__cause__ = sqlite3.OperationalError("database is locked")
    assert retry.is_transient(error)


# -- a unit of work -------------------------------------------------------------------


class Flaky:
    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures, self.calls, self.error = failures, 0, error

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error or transient()
        return "done"


@pytest.mark.django_db(transaction=True)
def test_a_unit_is_run_again_until_it_passes(caplog):
    work = Flaky(3)
    assert retry.unit(work, what="a test") == "done"
    assert work.calls == 4
    messages = [r.getMessage() for r in caplog.records if r.name == "importops"]
    assert len(messages) == 2  # one line when the fault starts, one when it ends
    assert "AdminShutdown" in messages[0] or "administrator command" in messages[0]


@pytest.mark.django_db(transaction=True)
def test_a_permanent_error_fails_at_once():
    work = Flaky(1, IntegrityError("duplicate key value"))
    with pytest.raises(IntegrityError):
        retry.unit(work, what="a test")
    assert work.calls == 1


@pytest.mark.django_db(transaction=True)
def test_a_fault_past_the_deadline_names_the_error(settings):
    work = Flaky(10**9)
    with pytest.raises(DatabaseUnavailable, match=r"a test: the database failed for \d+ s: .*administrator command"):
        retry.unit(work, what="a test", deadline=0.05)
    assert work.calls > 1


@pytest.mark.django_db
def test_inside_a_transaction_the_enclosing_one_is_the_unit():
    work = Flaky(1)
    with pytest.raises(OperationalError):
        retry.unit(work, what="a test")  # pytest-django's test transaction encloses it
    assert work.calls == 1


# -- runs and parses meeting faults ---------------------------------------------------


@contextmanager
def fault_at_every_new_statement(*, times: int = 1, pattern: str = ""):
    """Fail each distinct statement (numbers stripped) the first ``times`` times it runs."""
    seen: dict[str, int] = {}

    def inject(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        shape = re.sub(r"\d+", "N", sql)
        if pattern in sql and seen.get(shape, 0) < times:
            seen[shape] = seen.get(shape, 0) + 1
            raise transient()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(inject):
        yield seen


@pytest.fixture
def faulty_drain(monkeypatch):
    """Drain tasks meet a transient fault at the first run of every statement they send."""
    original = running.drain
    injected: list[int] = []

    def drain(*, operation_id: str) -> None:
        with fault_at_every_new_statement(times=2) as seen:
            original(operation_id=operation_id)
        injected.append(sum(seen.values()))

    monkeypatch.setattr(running, "drain", drain)
    return injected


@pytest.mark.django_db(transaction=True)
def test_a_run_meeting_faults_everywhere_ends_exact(api, settings, faulty_drain):
    settings.IMPORTOPS = {**settings.IMPORTOPS, "PARALLELISM": 1, "DRAIN_THREADS": 1, "BATCH_SIZE": 7}
    api.post("import.new")
    payload = users_payload(40)
    payload["users"][3]["password"] = "pw-secret-3"
    payload["users"][5]["emails"] = ["u4@example.com"]  # a duplicate: fails with its code
    assert api.post("import.addUsers", payload).status_code == 200
    assert api.post("import.run").status_code == 200  # the inline backend drains on commit
    operation = ImportOperation.objects.with_progress().get(valid=True)
    assert faulty_drain and faulty_drain[0] > 10
    assert (operation.status, operation.completed, operation.failed) == ("importer_done", 39, 1)
    assert ImportedIdentity.objects.filter(operation=operation).count() == 39
    emails = User._default_manager.filter(**{f"{User.get_email_field_name()}__endswith": "@example.com"})
    assert emails.exclude(pk=api.user.pk).count() == 39
    assert User._default_manager.get(**{User.get_email_field_name(): "u3@example.com"}).check_password("pw-secret-3")
    assert ImportRecord.objects.filter(failed=False).count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_fault_that_lasts_fails_the_run_with_its_reason(api, settings, monkeypatch):
    settings.IMPORTOPS = {**settings.IMPORTOPS, "PARALLELISM": 1, "DRAIN_THREADS": 1, "RETRY_DEADLINE": 0.2}
    original = running.drain

    def drain(*, operation_id: str) -> None:
        # Reads of the staged records fail for good; failing the run (an UPDATE) still gets through.
        with fault_at_every_new_statement(times=10**9, pattern='FROM "importops_importrecord"'):
            original(operation_id=operation_id)

    monkeypatch.setattr(running, "drain", drain)
    api.post("import.new")
    api.post("import.addUsers", users_payload(5))
    api.post("import.run")
    operation = ImportOperation.objects.get(valid=True)
    assert operation.status == "importer_import_failed"
    assert operation.failure_reason.startswith("a batch: the database failed for 0 s: OperationalError")
    assert "administrator command" in operation.failure_reason


@pytest.mark.django_db(transaction=True)
def test_a_permanent_error_in_a_batch_fails_the_run_at_once(api, settings, monkeypatch):
    settings.IMPORTOPS = {**settings.IMPORTOPS, "PARALLELISM": 1, "DRAIN_THREADS": 1}
    attempts = []

    def broken(*args: Any, **kwargs: Any) -> None:
        attempts.append(1)
        raise DataError("value too long for type character varying(150)")

    monkeypatch.setattr(running.batches, "batch_step", broken)
    api.post("import.new")
    api.post("import.addUsers", users_payload(5))
    api.post("import.run")
    operation = ImportOperation.objects.get(valid=True)
    assert (operation.status, len(attempts)) == ("importer_import_failed", 1)
    assert operation.failure_reason == "DataError: value too long for type character varying(150)"


@pytest.mark.django_db(transaction=True)
def test_a_parse_meeting_faults_stages_every_user_once(api, monkeypatch):
    original = parsing.file_parse

    def parse(*, operation_id: str, **kwargs: Any) -> None:
        with fault_at_every_new_statement(times=2):
            original(operation_id=operation_id, **kwargs)

    monkeypatch.setattr(parsing, "file_parse", parse)
    rows = [(f"f{n}", f"f{n}@example.com", f"User {n}") for n in range(4500)]  # three staging chunks
    response = api.post("uploadImportFile", upload_body(users_csv(rows), importer="csv", name="users.csv"))
    assert response.status_code == 200, response.content
    operation = ImportOperation.objects.get(valid=True)
    assert (operation.status, operation.count_users) == ("importer_user_selection", 4500)
    staged = ImportRecord.objects.filter(operation=operation, data_type="user")
    assert staged.count() == 4500 and staged.values("import_id").distinct().count() == 4500


# -- the web while the database is away -----------------------------------------------


@contextmanager
def database_away():
    def refuse(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        raise transient("connection failed: Connection refused")

    with connection.execute_wrapper(refuse):
        yield


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "endpoint"),
    [("get", "import.status"), ("post", "import.new"), ("post", "import.addUsers"), ("post", "login")],
)
def test_api_answers_503_json_while_the_database_is_away(api, method, endpoint):
    with database_away():
        body = {"user": "root", "password": "pw-secret-1"} if endpoint == "login" else {"users": []}
        response = api.post(endpoint, body) if method == "post" else api.get(endpoint)
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "success": False,
        "error": "The database is unavailable. Try again shortly. [error-database-unavailable]",
    }


@pytest.mark.django_db
def test_admin_shows_a_plain_503_page_while_the_database_is_away(admin):
    client = Client()
    client.force_login(admin)
    with database_away():
        response = client.get("/admin/importops/importoperation/")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert b"The database is unavailable" in response.content


@pytest.mark.django_db
def test_health_endpoints():
    client = Client()
    assert client.get("/importops/health/live").json() == {"success": True, "status": "alive"}
    assert client.get("/importops/health/ready").json() == {"success": True, "status": "ready"}
    with database_away():
        assert client.get("/importops/health/live").status_code == 200
        response = client.get("/importops/health/ready")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response.json() == {"success": False, "status": "unavailable", "error": "database unreachable"}


@pytest.mark.django_db
def test_health_command(tmp_path, capsys):
    call_command("importops_health")
    assert capsys.readouterr().out == "ready: database reachable, migrations applied\n"
    with database_away(), pytest.raises(CommandError, match="not ready: database unreachable"):
        call_command("importops_health")
    beat = tmp_path / "beat"
    with pytest.raises(CommandError, match="worker: no heartbeat"):
        call_command("importops_health", worker=str(beat))
    beat.touch()
    call_command("importops_health", worker=str(beat))
    assert capsys.readouterr().out.startswith("worker alive")
    old = (beat.stat().st_mtime - 120,) * 2
    os.utime(beat, old)
    with pytest.raises(CommandError, match="worker: last heartbeat 120 s ago"):
        call_command("importops_health", worker=str(beat), max_age=30)


# -- storage faults -------------------------------------------------------------------


class FullDisk(InMemoryStorage):
    def _save(self, name: str, content: Any) -> str:
        raise OSError(errno.ENOSPC, "No space left on device")


class FailingStream(io.BytesIO):
    """A stored file whose reads fail part-way through, as a storage service that drops out."""

    def _check(self) -> None:
        if self.tell() > 60_000:
            raise OSError(errno.EIO, "Input/output error")

    def read(self, size: int | None = -1) -> bytes:
        self._check()
        return super().read(size if size is not None and size >= 0 else 8192)

    def read1(self, size: int = -1) -> bytes:
        self._check()
        return super().read1(size if size >= 0 else 8192)

    def readinto(self, buffer: Any) -> int:
        self._check()
        return super().readinto(memoryview(buffer)[:8192])

    def readline(self, size: int | None = -1) -> bytes:
        self._check()
        return super().readline(size)


class FailingReads(InMemoryStorage):
    def _open(self, name: str, mode: str = "rb") -> Any:
        return File(FailingStream(super()._open(name, mode).read()), name=name)


@pytest.mark.django_db(transaction=True)
def test_a_full_disk_on_upload_fails_the_operation_and_stores_nothing(api, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "tests.test_faults.FullDisk"}}
    rows = [(f"f{n}", f"f{n}@example.com", f"User {n}") for n in range(10)]
    response = api.post("uploadImportFile", upload_body(users_csv(rows), importer="csv", name="users.csv"))
    assert response.status_code == 503
    assert response.json() == {
        "success": False,
        "errorType": "error-file-not-stored",
        "error": "The file could not be stored: OSError: [Errno 28] No space left on device",
    }
    operation = ImportOperation.objects.get(valid=True)
    assert (operation.status, operation.file) == ("importer_import_failed", "")
    assert operation.failure_reason == "The file could not be stored: OSError: [Errno 28] No space left on device"
    assert ImportRecord.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_storage_failing_mid_parse_leaves_nothing_staged(api, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "tests.test_faults.FailingReads"}}
    rows = [(f"f{n}", f"f{n}@example.com", f"User {n}") for n in range(6000)]  # ~150 kB, chunks staged first
    response = api.post("uploadImportFile", upload_body(users_csv(rows), importer="csv", name="users.csv"))
    assert response.status_code == 200
    operation = ImportOperation.objects.get(valid=True)
    assert operation.status == "importer_import_failed"
    assert operation.failure_reason == "The file could not be read: OSError: [Errno 5] Input/output error"
    assert (operation.count_users, ImportRecord.objects.count()) == (0, 0)


def test_backoff_is_bounded_and_jittered(monkeypatch):
    monkeypatch.setattr(retry, "FIRST_DELAY", 0.1)
    monkeypatch.setattr(retry, "MAX_DELAY", 5.0)
    delays = [retry.backoff(attempt) for attempt in range(30) for _ in range(20)]
    assert max(delays) <= 5.0 and len(set(delays)) > 100
    assert max(retry.backoff(0) for _ in range(100)) <= 0.1
