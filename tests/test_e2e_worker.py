"""End-to-end runs with real worker processes (``manage.py importops_worker``) on PostgreSQL:
stopping a run, a SIGKILLed worker, two workers sharing a run."""

from __future__ import annotations

import json
import signal
import urllib.request

import pytest
from django.contrib.auth import get_user_model

from importops.models import AuthToken, ImportedIdentity, ImportFailure, ImportLane, ImportOperation, ImportRecord
from importops.services import operations
from tests.live import Server, Worker, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
User = get_user_model()


def dataset(prefix: str, count: int) -> list[dict]:
    """Users with a known share of failures: invalid emails, duplicate emails and importIds."""
    users = []
    for n in range(count):
        user = {"emails": [f"{prefix}{n}@example.com"], "importIds": [f"{prefix}-{n}"], "username": f"{prefix}{n}"}
        if n % 50 == 49:
            user["emails"] = [f"{prefix}{n}-not-an-email"]
        elif n % 70 == 69:
            user["emails"] = [f"{prefix.upper()}{n - 1}@EXAMPLE.com"]
        elif n % 90 == 89:
            user["importIds"] = [f"{prefix}-{n - 2}"]
        users.append(user)
    return users


@pytest.fixture
def worker_settings(settings):
    settings.IMPORTOPS = {**settings.IMPORTOPS, "TASK_BACKEND": "worker", "PARALLELISM": 4}
    return settings


def stage(api, users: list[dict]) -> ImportOperation:
    api.post("import.new")
    for start in range(0, len(users), 1000):
        assert api.post("import.addUsers", {"users": users[start : start + 1000]}).status_code == 200
    return ImportOperation.objects.get(valid=True)


def progress(operation: ImportOperation) -> tuple[str, int, int]:
    fresh = ImportOperation.objects.with_progress().get(pk=operation.pk)
    return fresh.status, fresh.completed, fresh.failed


def tasks_idle() -> bool:
    from django_tasks_db.models import DBTaskResult

    return not DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).exists()


def imported_users(prefix: str):
    return User._default_manager.filter(**{f"{User.get_email_field_name()}__startswith": prefix})


def abort_mid_run(api, admin, *, idle) -> ImportOperation:
    """Stage 3,000 users, run, abort (the admin's action) once 50 are created: no user is
    created after the abort returns, and the operation is cancelled with exact counts."""
    operation = stage(api, dataset("a", 3000))
    assert api.post("import.run").status_code == 200
    wait_for(lambda: progress(operation)[1] >= 50, timeout=60, what="the run to create users")
    assert operations.operation_abort(operation=operation, user=admin)
    created_at_abort = imported_users("a").count()
    wait_for(idle, timeout=60, what="the drain tasks to end")
    assert imported_users("a").count() == created_at_abort < 3000
    status, completed, _ = progress(operation)
    assert status == "importer_import_cancelled" and completed == created_at_abort
    return operation


def outcome(prefix: str) -> dict:
    """What a run produced, with the prefix taken out, so two runs compare."""
    failures = ImportFailure.objects.filter(import_id__startswith=f"{prefix}-")
    return {
        "created": sorted(getattr(u, User.get_email_field_name()).removeprefix(prefix) for u in imported_users(prefix)),
        "failed": sorted((f.import_id.removeprefix(prefix), f.code) for f in failures),
    }


def test_abort_and_new_during_a_run_create_no_user_after_they_return(api, admin, worker_settings, tmp_path):
    worker = Worker(tmp_path, "w1", IMPORTOPS_BATCH_SIZE="10")
    server = Server(tmp_path)
    try:
        # Abort (the admin's action) during a run.
        operation = abort_mid_run(api, admin, idle=tasks_idle)
        assert ImportOperation.objects.get(pk=operation.pk).valid is True

        # import.new, over HTTP, during another run.
        operation = stage(api, dataset("b", 3000))
        assert api.post("import.run").status_code == 200
        wait_for(lambda: progress(operation)[1] >= 50, timeout=60, what="the second run to create users")
        _, raw = AuthToken.objects.issue(user=admin)
        request = urllib.request.Request(
            f"{server.url}/api/v1/import.new", method="POST", headers={"X-User-Id": str(admin.pk), "X-Auth-Token": raw}
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            assert json.loads(response.read())["success"] is True
        created_at_new = imported_users("b").count()
        wait_for(tasks_idle, timeout=60, what="the drain tasks to end")
        assert imported_users("b").count() == created_at_new < 3000
        stopped = ImportOperation.objects.get(pk=operation.pk)
        assert (stopped.status, stopped.valid, stopped.state) == ("importer_import_cancelled", False, "error")
    finally:
        worker.stop()
        server.stop()
    assert "Traceback" not in worker.output()


def test_sigkilled_worker_resumes_with_no_user_lost_or_doubled(api, worker_settings, tmp_path):
    # One lane: its only task dies with the worker and stays "running" in the task backend
    # forever, so only the recovery sweep of the restarted worker can finish the run.
    worker_settings.IMPORTOPS = {**worker_settings.IMPORTOPS, "PARALLELISM": 1}
    users = dataset("k", 3000)
    operation = stage(api, users)
    env = {"IMPORTOPS_BATCH_SIZE": "20", "IMPORTOPS_LEASE_SECONDS": "3"}
    first = Worker(tmp_path, "doomed", **env)
    assert api.post("import.run").status_code == 200
    wait_for(lambda: progress(operation)[1] >= 300, timeout=60, what="the run to get going")
    first.kill(signal.SIGKILL)
    status, completed_at_kill, _ = progress(operation)
    assert status == "importer_importing_users" and completed_at_kill < 2900

    second = Worker(tmp_path, "rescuer", **env)  # the documented worker command, again
    try:
        wait_for(lambda: progress(operation)[0] == "importer_done", timeout=120, what="the run to finish")
    finally:
        second.stop()

    failures = ImportFailure.objects.filter(operation=operation)
    expected_failures = sum(1 for n in range(3000) if n % 50 == 49 or n % 70 == 69 or n % 90 == 89)
    assert failures.count() == expected_failures
    created = imported_users("k")
    assert created.count() == 3000 - expected_failures
    assert ImportedIdentity.objects.filter(operation=operation).count() == created.count()
    assert len(set(created.values_list("pk", flat=True))) == created.count()
    # Every staged user is accounted for exactly once: created, or failed and still staged.
    assert ImportRecord.objects.filter(operation=operation, failed=False).count() == 0
    assert ImportRecord.objects.filter(operation=operation, failed=True).count() == expected_failures
    _, completed, failed = progress(operation)
    assert (completed, failed) == (created.count(), expected_failures)
    assert ImportOperation.objects.get(pk=operation.pk).resumes == 1


def test_two_workers_produce_the_same_result_as_one(api, worker_settings, tmp_path):
    env = {"IMPORTOPS_BATCH_SIZE": "25"}
    alone = Worker(tmp_path, "alone", **env)
    try:
        operation = stage(api, dataset("one", 2000))
        api.post("import.run")
        wait_for(lambda: progress(operation)[0] == "importer_done", timeout=120, what="the one-worker run")
    finally:
        alone.stop()

    pair = [Worker(tmp_path, "left", **env), Worker(tmp_path, "right", **env)]
    try:
        shared = stage(api, dataset("two", 2000))
        api.post("import.run")
        wait_for(lambda: progress(shared)[0] == "importer_done", timeout=120, what="the two-worker run")
    finally:
        for worker in pair:
            worker.stop()

    assert outcome("two") == outcome("one")
    assert progress(shared)[1:] == progress(operation)[1:]
    # Both workers took part: each worked lanes (two threads each) of the shared run.
    lanes = list(ImportLane.objects.filter(operation=shared).values_list("completed", "error"))
    assert len(lanes) == 4 and sum(1 for c, e in lanes if c + e > 0) >= 3, lanes
    for worker in pair:
        assert f"of run {shared.pk}" in worker.output(), worker.output()


def test_sigterm_hands_lanes_back_and_another_worker_finishes(api, worker_settings, tmp_path):
    """A deploy stops the worker (SIGTERM): it exits after its current batch instead of after
    the whole run; the run resumes on the next worker with nothing lost or doubled."""
    worker_settings.IMPORTOPS = {**worker_settings.IMPORTOPS, "PARALLELISM": 1}
    operation = stage(api, dataset("t", 3000))
    env = {"IMPORTOPS_BATCH_SIZE": "10", "IMPORTOPS_LEASE_SECONDS": "2"}
    first = Worker(tmp_path, "deployed", **env)
    api.post("import.run")
    wait_for(lambda: progress(operation)[1] >= 100, timeout=60, what="the run to get going")
    first.popen.send_signal(signal.SIGTERM)
    first.popen.wait(timeout=15)  # not the minutes a whole run would take
    assert "handing lane 0" in first.output()
    assert progress(operation)[0] == "importer_importing_users"
    second = Worker(tmp_path, "next", **env)
    try:
        wait_for(lambda: progress(operation)[0] == "importer_done", timeout=120, what="the run to finish")
    finally:
        second.stop()
    expected_failures = sum(1 for n in range(3000) if n % 50 == 49 or n % 70 == 69 or n % 90 == 89)
    assert imported_users("t").count() == 3000 - expected_failures
    assert progress(operation)[1:] == (3000 - expected_failures, expected_failures)
