"""A task queue that does not answer when work is queued (Redis away, or the database queue
meeting a passing fault) is not an error of the request: the state change is committed, and
the recovery sweep queues the work again once nobody holds it."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from importops import tasks
from importops.models import ImportOperation
from importops.services import recovery
from tests.conftest import users_payload
from tests.test_faults import transient

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_redis_that_does_not_answer_is_a_queue_outage_not_a_bug():
    with pytest.raises(redis.exceptions.ConnectionError) as refused:
        redis.Redis(port=closed_port(), socket_connect_timeout=1).ping()
    assert tasks.queue_unavailable(refused.value)
    assert tasks.queue_unavailable(transient())
    assert not tasks.queue_unavailable(ValueError("a bug"))


def test_a_run_whose_tasks_cannot_be_queued_starts_and_is_queued_again_by_the_sweep(
    api, settings, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    settings.IMPORTOPS = {**settings.IMPORTOPS, "TASK_BACKEND": "worker"}  # a real queue (a table)
    api.post("import.new")
    assert api.post("import.addUsers", users_payload(3)).status_code == 200

    def refuse(*args, **kwargs):
        raise transient("the database system is shutting down")

    with monkeypatch.context() as patched:
        patched.setattr(tasks.drain_import.using(backend="worker").__class__, "enqueue", refuse)
        with django_capture_on_commit_callbacks(execute=True):  # queues as the block ends
            response = api.post("import.run")
    assert (response.status_code, response.json()) == (200, {"success": True})
    operation = ImportOperation.objects.get(valid=True)
    assert operation.status == "importer_importing_started"  # started; no task took it yet
    assert "could not queue the work" in caplog.text

    ImportOperation.objects.filter(pk=operation.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    assert [work.operation.pk for work in recovery.sweep()] == [operation.pk]


def test_a_bug_while_queueing_is_not_swallowed(api, monkeypatch, django_capture_on_commit_callbacks):
    api.post("import.new")
    api.post("import.addUsers", users_payload(2))

    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(tasks.drain_import.__class__, "enqueue", broken)
    with pytest.raises(ValueError, match="a bug"), django_capture_on_commit_callbacks(execute=True):
        api.post("import.run")  # the callbacks run, and raise, as the block ends
