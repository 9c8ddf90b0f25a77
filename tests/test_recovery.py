"""Crash recovery (docs/architecture.md, "Recovery"), in process: the sweep resumes a run no
live worker holds, finishes the records a dead lane had claimed, and gives up after
MAX_RESUMES with a reason. (test_e2e_worker.py kills a real worker.)"""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from importops.models import ImportedIdentity, ImportLane, ImportOperation, ImportRecord
from importops.services import recovery, running
from importops.tasks import recover
from tests.conftest import users_payload

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def dead_run(api, django_capture_on_commit_callbacks, settings):
    """A run whose only drain task died after claiming some records (its lease long expired)."""
    settings.IMPORTOPS = {**settings.IMPORTOPS, "PARALLELISM": 1, "LEASE_SECONDS": 30}
    api.post("import.new")
    api.post("import.addUsers", users_payload(12))
    with django_capture_on_commit_callbacks(execute=False):  # the queued task is lost
        api.post("import.run")
    operation = ImportOperation.objects.get(valid=True)
    long_ago = timezone.now() - timedelta(minutes=5)
    lane = ImportLane.objects.get(operation=operation)
    ImportLane.objects.filter(pk=lane.pk).update(holder="dead-worker", lease_expires_at=long_ago)
    claimed = list(ImportRecord.objects.order_by("id").values_list("id", flat=True)[:5])
    ImportRecord.objects.filter(id__in=claimed).update(lane=lane)
    ImportOperation.objects.filter(pk=operation.pk).update(status="importer_importing_users", updated_at=long_ago)
    return operation


def test_sweep_resumes_a_dead_run_to_the_end(dead_run, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert recover() == [dead_run.pk]
    operation = ImportOperation.objects.with_progress().get(pk=dead_run.pk)
    assert (operation.status, operation.resumes, operation.completed, operation.failed) == ("importer_done", 1, 12, 0)
    assert ImportRecord.objects.count() == 0
    assert ImportedIdentity.objects.filter(operation=operation).count() == 12
    assert User._default_manager.filter(**{f"{User.get_email_field_name()}__startswith": "u"}).count() == 12


def test_sweep_leaves_live_and_recent_runs_alone(dead_run, django_capture_on_commit_callbacks):
    ImportOperation.objects.filter(pk=dead_run.pk).update(updated_at=timezone.now())
    assert recovery.sweep() == []
    ImportOperation.objects.filter(pk=dead_run.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    ImportLane.objects.filter(operation=dead_run).update(lease_expires_at=timezone.now() + timedelta(seconds=30))
    assert recovery.sweep() == []
    assert ImportOperation.objects.get(pk=dead_run.pk).resumes == 0


def test_bounded_resumes_then_failure_with_a_reason(dead_run, settings):
    settings.IMPORTOPS = {**settings.IMPORTOPS, "MAX_RESUMES": 2}
    ImportOperation.objects.filter(pk=dead_run.pk).update(resumes=2)
    assert [work.operation.pk for work in recovery.sweep()] == [dead_run.pk]
    operation = ImportOperation.objects.get(pk=dead_run.pk)
    assert operation.status == "importer_import_failed" and operation.state == "error"
    assert "stopped 3 times without finishing" in operation.failure_reason
    assert "worker" in operation.failure_reason


def test_recover_command(dead_run, capsys, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("importops_recover")
    assert f"Resumed or failed: {dead_run.pk}" in capsys.readouterr().out
    assert ImportOperation.objects.get(pk=dead_run.pk).status == "importer_done"
    call_command("importops_recover")
    assert "Nothing to recover." in capsys.readouterr().out


def test_a_run_whose_lanes_all_finished_is_closed(dead_run):
    ImportRecord.objects.all().delete()
    ImportLane.objects.filter(operation=dead_run).update(finished=True, holder="")
    recovery.sweep()
    assert ImportOperation.objects.get(pk=dead_run.pk).status == "importer_done"


@pytest.fixture
def lane_of_a_dead_worker(api, django_capture_on_commit_callbacks, settings):
    """A run of 12 users over two lanes; lane 1 is held by a worker that died, its lease
    still minutes away."""
    settings.IMPORTOPS = {**settings.IMPORTOPS, "PARALLELISM": 2, "LEASE_SECONDS": 600}
    api.post("import.new")
    api.post("import.addUsers", users_payload(12))
    with django_capture_on_commit_callbacks(execute=False):  # drained below, in this process
        api.post("import.run")
    operation = ImportOperation.objects.get(valid=True)
    lane = ImportLane.objects.get(operation=operation, number=1)
    ImportLane.objects.filter(pk=lane.pk).update(
        holder="dead-worker", lease_expires_at=timezone.now() + timedelta(minutes=10)
    )
    return operation, lane


def test_a_dead_workers_lane_with_nothing_left_does_not_hold_the_run(lane_of_a_dead_worker):
    """The worker died after its last batch committed: the live lanes take every record, and
    the run ends done at once instead of when the dead lane's lease lapses."""
    operation, lane = lane_of_a_dead_worker
    running.drain(operation_id=operation.pk)
    finished = ImportOperation.objects.with_progress().get(pk=operation.pk)
    assert (finished.status, finished.completed, finished.failed) == ("importer_done", 12, 0)
    assert ImportLane.objects.get(pk=lane.pk).finished
    assert ImportedIdentity.objects.filter(operation=operation).count() == 12


def test_a_dead_workers_lane_with_records_it_claimed_waits_for_its_lease(lane_of_a_dead_worker):
    """Records the dead lane had claimed are left to it: the run waits for the sweep to
    resume that lane once its lease lapses."""
    operation, lane = lane_of_a_dead_worker
    claimed = list(ImportRecord.objects.order_by("id").values_list("id", flat=True)[:3])
    ImportRecord.objects.filter(id__in=claimed).update(lane=lane)
    running.drain(operation_id=operation.pk)
    waiting = ImportOperation.objects.with_progress().get(pk=operation.pk)
    assert (waiting.status, waiting.completed) == ("importer_importing_users", 9)
    assert not ImportLane.objects.get(pk=lane.pk).finished
    assert sorted(ImportRecord.objects.values_list("id", flat=True)) == claimed
