"""import.undo, the admin's Undo and importops_undo: what is removed, restored, unlinked and
kept; the statuses; who may; the change report. On both databases and both user models."""

import csv
import io

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.utils import timezone

from importops.models import ImportChange, ImportedIdentity, ImportOperation
from importops.users import UserAdapter
from tests.conftest import Api, create_user, grant, user_payload
from tests.sync import User, by_email, counts, full_name, groups_of, import_users

pytestmark = pytest.mark.django_db


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def undo(api, capture, operation_id, **extra):
    with capture(execute=True):
        response = api.post("import.undo", {"operationId": operation_id, **extra})
    return response


def emails():
    return set(User._default_manager.values_list(User.get_email_field_name(), flat=True))


def test_undo_removes_created_users_restores_updates_and_unlinks(api, capture):
    first = import_users(api, capture, [user_payload(n, name=f"First {n}") for n in range(3)])
    skipped = create_user("skipped")
    second = import_users(
        api,
        capture,
        [
            user_payload(0, name="Renamed Zero", roles=["admin"]),
            user_payload(1, name="First 1"),
            user_payload(7),
            {"emails": ["skipped@example.com"], "importIds": ["sk-1"]},
        ],
        existingUsers="update",
    )
    # "skipped" is updated: it gains the default role's group (and the importId sk-1).
    assert counts(second) == {"created": 1, "error": 0, "updated": 2, "skipped": 0, "unchanged": 1}
    before_undo = emails()
    response = undo(api, capture, second["_id"])
    assert response.status_code == 200 and response.json() == {"success": True}
    assert emails() == before_undo - {"u7@example.com"}
    zero = by_email("u0@example.com")
    assert full_name(zero) == "First 0" and groups_of(zero) == {"user"}
    assert not ImportedIdentity.objects.filter(import_id="sk-1").exists()
    assert ImportedIdentity.objects.filter(operation_id=first["_id"]).count() == 3
    assert groups_of(skipped) == set()
    operation = api.get("import.status").json()["operation"]
    assert operation["status"] == "importer_undone"
    assert operation["undo"] == {
        "mode": "delete",
        "total": 3,
        "processed": 3,
        "deleted": 1,
        "deactivated": 0,
        "reverted": 2,
        "unlinked": 0,
        "kept": 0,
        "gone": 0,
        "from": "importer_done",
        "by": str(api.user.pk),
    }
    history = LogEntry.objects.filter(object_id=second["_id"]).order_by("id")
    messages = [entry.change_message for entry in history]
    assert messages[-2:] == [
        "Started an undo (delete) of 3 user change(s)",
        "Undone: 1 deleted, 2 reverted",
    ]


def test_users_who_moved_on_are_kept_and_listed(api, capture):
    import_users(api, capture, [user_payload(0, name="Base Zero")])
    second = import_users(
        api,
        capture,
        [user_payload(0, name="Import Zero"), *[user_payload(n) for n in (1, 2, 3)]],
        existingUsers="update",
    )
    User._default_manager.filter(**{User.get_email_field_name(): "u1@example.com"}).update(last_login=timezone.now())
    changed = by_email("u2@example.com")
    changed.is_active = False
    changed.save()
    zero = by_email("u0@example.com")
    zero.groups.add(*zero.groups.none())
    if hasattr(zero, "full_name"):
        zero.full_name = "Edited By Hand"
    else:
        zero.first_name = "Edited"
    zero.save()
    undo(api, capture, second["_id"])
    assert {"u0@example.com", "u1@example.com", "u2@example.com"} <= emails()
    assert "u3@example.com" not in emails()
    outcomes = dict(ImportChange.objects.filter(operation_id=second["_id"]).values_list("email", "undo"))
    assert outcomes == {
        "u0@example.com": "kept-changed-since",
        "u1@example.com": "kept-logged-in",
        "u2@example.com": "kept-changed-since",
        "u3@example.com": "deleted",
    }
    zero.refresh_from_db()
    assert "Edited" in full_name(zero)


def test_deactivate_mode_keeps_the_rows(api, capture):
    operation = import_users(api, capture, [user_payload(n) for n in range(3)])
    undo(api, capture, operation["_id"], mode="deactivate")
    assert User._default_manager.filter(is_active=False).count() == 3
    assert api.get("import.status").json()["operation"]["undo"]["deactivated"] == 3


class AdapterWithoutActive(UserAdapter):
    """A host whose user model keeps no is_active field."""

    def _field(self, name):
        return None if name == "is_active" else super()._field(name)


def test_deactivate_mode_is_refused_when_the_user_model_cannot_deactivate(api, capture, settings):
    operation = import_users(api, capture, [user_payload(n) for n in range(2)])
    settings.IMPORTOPS = {**settings.IMPORTOPS, "USER_ADAPTER": "tests.test_undo.AdapterWithoutActive"}
    response = undo(api, capture, operation["_id"], mode="deactivate")
    assert (response.status_code, response.json()) == (
        400,
        {
            "success": False,
            "errorType": "error-invalid-params",
            "error": "mode: the user model has no is_active field to deactivate users with",
        },
    )
    assert ImportOperation.objects.get(pk=operation["_id"]).status == "importer_done"


def test_undo_is_refused_while_running_twice_or_unknown(api, capture):
    operation = import_users(api, capture, [user_payload(1)])
    ImportOperation.objects.filter(pk=operation["_id"]).update(status="importer_importing_users")
    response = undo(api, capture, operation["_id"])
    assert (response.status_code, response.json()) == (
        400,
        {"success": False, "error": "error-invalid-operation-status"},
    )
    ImportOperation.objects.filter(pk=operation["_id"]).update(status="importer_done")
    assert undo(api, capture, operation["_id"]).status_code == 200
    assert undo(api, capture, operation["_id"]).json()["error"] == "error-invalid-operation-status"
    assert undo(api, capture, "0" * 24).json()["error"] == "error-operation-not-found"
    assert api.post("import.undo", {}).json()["error"] == "operationId: is required"
    assert api.post("import.undo", {"operationId": "x", "mode": "erase"}).status_code == 400


def test_undo_needs_run_import_and_abort_on_that_operation(api, capture, runner, plain):
    operation = import_users(api, capture, [user_payload(1)])
    assert undo(Api(plain), capture, operation["_id"]).status_code == 403
    assert undo(Api(runner), capture, operation["_id"]).status_code == 403
    from guardian.shortcuts import assign_perm

    assign_perm("importops.abort_importoperation", runner, ImportOperation.objects.get(pk=operation["_id"]))
    assert undo(Api(User._default_manager.get(pk=runner.pk)), capture, operation["_id"]).status_code == 200
    assert "u1@example.com" not in emails()


def test_global_abort_permission_is_enough(capture, api, runner):
    operation = import_users(api, capture, [user_payload(1)])
    holder = grant(runner, "abort_importoperation")
    assert undo(Api(holder), capture, operation["_id"]).status_code == 200


def test_admin_undo_asks_then_starts(api, capture, admin, client):
    operation = import_users(api, capture, [user_payload(n) for n in range(2)])
    client.force_login(admin)
    url = f"/admin/importops/importoperation/{operation['_id']}/undo/"
    page = client.get(url)
    assert page.status_code == 200 and b'id="importops-undo-created">2<' in page.content
    assert emails() >= {"u0@example.com", "u1@example.com"}
    detail = client.get(f"/admin/importops/importoperation/{operation['_id']}/change/")
    assert b'id="importops-undo"' in detail.content
    with capture(execute=True):
        response = client.post(url, {"mode": "deactivate"})
    assert response.status_code == 302
    assert not by_email("u0@example.com").is_active
    changes = client.get(f"/admin/importops/importchange/?operation__id__exact={operation['_id']}")
    assert changes.status_code == 200 and b"deactivated" in changes.content
    # The action sends one selected import to the same confirmation page.
    response = client.post(
        "/admin/importops/importoperation/", {"action": "undo_selected", "_selected_action": [operation["_id"]]}
    )
    assert response.status_code == 302 and response["Location"].endswith(f"{operation['_id']}/undo/")


def test_command_undo_and_change_report(api, capture):
    import_users(api, capture, [user_payload(0, name="Old Name")])
    second = import_users(
        api,
        capture,
        [user_payload(0, name="New Name"), user_payload(1), {**user_payload(2), "emails": ["bad"]}],
        existingUsers="update",
    )
    report = io.StringIO()
    call_command("importops_changes", operation=second["_id"], stdout=report)
    rows = list(csv.DictReader(io.StringIO(report.getvalue())))
    assert [(r["action"], r["importId"]) for r in rows] == [("created", "u-1"), ("updated", "u-0"), ("failed", "u-2")]
    assert "Old → New" in rows[1]["changes"] or "Old Name → New Name" in rows[1]["changes"]
    assert rows[2]["code"] == "importer-user-invalid-email"
    out = io.StringIO()
    with capture(execute=True):
        call_command("importops_undo", second["_id"], stdout=out)
    assert "Started" in out.getvalue()
    assert ImportOperation.objects.get(pk=second["_id"]).undo_counts["reverted"] == 1
    report = io.StringIO()
    call_command("importops_changes", operation=second["_id"], stdout=report)
    rows = list(csv.DictReader(io.StringIO(report.getvalue())))
    assert [r["undo"] for r in rows] == ["deleted", "reverted", ""]
    assert full_name(by_email("u0@example.com")) == "Old Name"


def test_an_undo_whose_worker_died_is_queued_again_by_the_sweep(api, capture):
    from datetime import timedelta

    from importops.tasks import recover

    operation = import_users(api, capture, [user_payload(n) for n in range(3)])
    with capture(execute=False):  # the task is lost with its worker
        assert api.post("import.undo", {"operationId": operation["_id"]}).status_code == 200
    assert len(emails() & {"u0@example.com", "u1@example.com", "u2@example.com"}) == 3
    assert recover() == []  # within the lease: left alone
    ImportOperation.objects.filter(pk=operation["_id"]).update(updated_at=timezone.now() - timedelta(hours=1))
    with capture(execute=True):
        assert recover() == [operation["_id"]]
    assert ImportOperation.objects.get(pk=operation["_id"]).status == "importer_undone"
    assert not emails() & {"u0@example.com", "u1@example.com", "u2@example.com"}
