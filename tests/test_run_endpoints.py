"""import.run, import.clear, import.status, getCurrentImportOperation,
getLatestImportOperations: their rows of the transition table (docs/api.md, "Transitions")."""

import pytest
from django.db import transaction

from importops.conf import importops_settings
from importops.models import ImportLane, ImportOperation, ImportRecord
from importops.services import running
from tests.conftest import Api, create_user, grant, users_payload
from tests.factories import operation_in

pytestmark = pytest.mark.django_db

NOT_FOUND = {"success": False, "error": "error-operation-not-found"}
INVALID_STATUS = {"success": False, "error": "error-invalid-operation-status"}


def test_ready_runs_to_done(api, run_to_end):
    api.post("import.new")
    api.post("import.addUsers", users_payload(5))
    response = run_to_end(api)
    assert response.json() == {"success": True}
    status = api.get("import.status").json()
    assert status["state"] == "done"
    assert status["operation"]["count"] == {
        "total": 5,
        "completed": 5,
        "error": 0,
        "users": 5,
        "channels": 0,
        "messages": 0,
        "updated": 0,
        "skipped": 0,
        "unchanged": 0,
    }


def test_run_only_queues_the_work(api, django_capture_on_commit_callbacks):
    api.post("import.new")
    api.post("import.addUsers", users_payload(3))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert api.post("import.run").status_code == 200
    operation = ImportOperation.objects.get(valid=True)
    assert operation.status == "importer_importing_started" and operation.state == "importing"
    assert ImportRecord.objects.count() == 3  # nothing imported inside the request
    assert len(callbacks) == 1  # the enqueue, after commit
    assert ImportLane.objects.filter(operation=operation).count() == importops_settings.PARALLELISM == 4


@pytest.mark.parametrize("state", ["new", "loading", "importing", "done", "error", "canceled"])
def test_run_refused_unless_ready(api, state):
    operation_in(state)
    response = api.post("import.run")
    assert response.status_code == 400 and response.json() == INVALID_STATUS


@pytest.mark.parametrize("state", ["none", "invalid"])
def test_run_without_a_valid_operation(api, state):
    if state == "invalid":
        operation_in("invalid")
    response = api.post("import.run")
    assert response.status_code == 400 and response.json() == NOT_FOUND


def test_run_with_an_unknown_importer(api):
    operation_in("ready", importer_key="gone")
    response = api.post("import.run")
    assert response.status_code == 400 and response.json() == {"success": False, "error": "error-importer-not-defined"}


def test_of_two_runs_exactly_one_starts(api, admin):
    api.post("import.new")
    api.post("import.addUsers", users_payload(2))
    with transaction.atomic():
        running.run_start(user=admin)
        with pytest.raises(Exception) as second:
            running.run_start(user=admin)
        transaction.set_rollback(True)
    assert str(second.value) == "error-invalid-operation-status"


def test_clear_invalidates_everything_and_empties_staging(api):
    first = api.post("import.new").json()["operation"]
    api.post("import.addUsers", users_payload(3))
    response = api.post("import.clear")
    assert response.status_code == 200 and response.json() == {"success": True}
    assert not ImportOperation.objects.filter(valid=True).exists()
    assert ImportRecord.objects.count() == 0
    status = api.get("import.status").json()
    assert status["state"] == "error" and status["operation"]["_id"] == first["_id"]
    assert api.post("import.addUsers", users_payload(1)).json() == {
        "success": False,
        "error": "Import operation not initialized.",
    }


@pytest.mark.parametrize("state", ["none", "new", "ready", "importing", "done", "canceled"])
def test_clear_from_any_state(api, state):
    if state != "none":
        operation_in(state)
    assert api.post("import.clear").status_code == 200
    assert not ImportOperation.objects.filter(valid=True).exists()


def test_clear_cancels_a_running_import(api):
    operation = operation_in("importing")
    api.post("import.clear")
    operation.refresh_from_db()
    assert (operation.status, operation.valid) == ("importer_import_cancelled", False)


def test_status_none_and_no_side_effects(api):
    assert api.get("import.status").json() == {"state": "none", "success": True}
    operation_in("ready")
    before = list(ImportOperation.objects.values())
    for _ in range(2):
        api.get("import.status")
    assert list(ImportOperation.objects.values()) == before


def test_current_operation(api):
    assert api.get("getCurrentImportOperation").json() == {"success": True}
    operation = api.post("import.new").json()["operation"]
    assert api.get("getCurrentImportOperation").json() == {"operation": operation, "success": True}


def test_latest_operations_is_a_bare_array_of_twenty_newest_first(api):
    ids = [api.post("import.new").json()["operation"]["_id"] for _ in range(22)]
    response = api.get("getLatestImportOperations")
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list) and len(body) == 20
    assert [op["_id"] for op in body] == ids[::-1][:20]
    assert [op["valid"] for op in body[:2]] == [True, False]


def test_latest_operations_needs_view_import_operations(db):
    user = create_user("watcher")
    assert Api(user).get("getLatestImportOperations").status_code == 403
    user = grant(user, "view_importoperation")
    assert Api(user).get("getLatestImportOperations").status_code == 200
    assert Api(user).post("import.new").status_code == 403  # view does not grant run-import
