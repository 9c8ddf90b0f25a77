"""import.new and the single valid operation (docs/api.md: "Bulk user import", "One valid
operation")."""

import re

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.db import IntegrityError, transaction
from django.utils import timezone

from importops.models import ImportOperation, ImportRecord
from tests.conftest import Api, users_payload

pytestmark = pytest.mark.django_db

OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_body_matches_the_seed_example_key_for_key(api, admin):
    response = api.post("import.new")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"operation", "success"} and body["success"] is True
    operation = body["operation"]
    assert set(operation) == {"_id", "type", "importerKey", "ts", "status", "valid", "user", "_updatedAt"}
    assert OBJECT_ID.match(operation["_id"])
    assert operation["type"] == "api" and operation["importerKey"] == "api"
    assert operation["status"] == "importer_new"
    assert operation["valid"] is True
    assert operation["user"] == str(admin.pk)
    assert TIMESTAMP.match(operation["ts"]) and operation["ts"] == operation["_updatedAt"]


def test_second_call_invalidates_the_first(api):
    first = api.post("import.new").json()["operation"]
    second = api.post("import.new").json()["operation"]
    assert first["_id"] != second["_id"]
    old, new = ImportOperation.objects.get(pk=first["_id"]), ImportOperation.objects.get(pk=second["_id"])
    assert (old.valid, new.valid) == (False, True)
    assert old.state == "error" and new.state == "new"
    assert new.ts > old.ts
    status = api.get("import.status").json()
    assert status["state"] == "new" and status["operation"]["_id"] == second["_id"]
    assert ImportOperation.objects.filter(valid=True).count() == 1


def test_new_deletes_staged_records(api):
    api.post("import.new")
    api.post("import.addUsers", users_payload(3))
    assert ImportRecord.objects.count() == 3
    api.post("import.new")
    assert ImportRecord.objects.count() == 0


def test_database_refuses_a_second_valid_operation(api):
    api.post("import.new")
    with pytest.raises(IntegrityError), transaction.atomic():
        ImportOperation.objects.create(type="api", importer_key="api", ts=timezone.now(), valid=True)


def test_invalid_operations_are_unconstrained(api):
    api.post("import.new")
    for _ in range(2):
        ImportOperation.objects.create(type="api", importer_key="api", ts=timezone.now(), valid=False)
    assert ImportOperation.objects.filter(valid=False).count() == 2


def test_allowed_for_a_member_of_a_group_holding_run_import(runner):
    response = Api(runner).post("import.new")
    assert response.status_code == 200
    assert response.json()["operation"]["user"] == str(runner.pk)


def test_written_to_the_admin_history(api, admin):
    operation = api.post("import.new").json()["operation"]
    entry = LogEntry.objects.get(object_id=operation["_id"])
    assert entry.user_id == admin.pk and entry.action_flag == ADDITION
    assert "Created" in entry.get_change_message()


def test_new_stops_a_running_operation(api):
    first = api.post("import.new").json()["operation"]
    ImportOperation.objects.filter(pk=first["_id"]).update(status="importer_importing_users")
    api.post("import.new")
    old = ImportOperation.objects.get(pk=first["_id"])
    assert (old.status, old.valid, old.state) == ("importer_import_cancelled", False, "error")


def test_finished_operation_reads_done_after_invalidation(api):
    first = api.post("import.new").json()["operation"]
    ImportOperation.objects.filter(pk=first["_id"]).update(status="importer_done")
    api.post("import.new")
    assert ImportOperation.objects.get(pk=first["_id"]).state == "done"
