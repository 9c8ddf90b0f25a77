"""The existing-user policy (fail, skip, update): matching by importId, then email, then
username; what an update may change and what it never touches; the preview; the change
records; idempotent re-runs. On both databases and both user models."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from importops.models import ImportChange, ImportedIdentity, ImportFailure
from tests.conftest import HAS_USERNAME, create_user, user_payload
from tests.sync import User, by_email, counts, full_name, groups_of, import_users, preview, run, stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def test_fail_is_the_default_and_keeps_todays_codes(api, capture):
    import_users(api, capture, [user_payload(1, name="Ada One")])
    operation = import_users(api, capture, [user_payload(1, name="Ada Two")])
    assert counts(operation) == {"created": 0, "error": 1, "updated": 0, "skipped": 0, "unchanged": 0}
    assert ImportFailure.objects.filter(code="importer-user-already-imported").count() == 1
    assert full_name(by_email("u1@example.com")) == "Ada One"


def test_update_changes_mapped_fields_and_records_old_and_new(api, capture):
    import_users(api, capture, [user_payload(1, name="Ada One"), user_payload(2, name="Bob Two")])
    operation = import_users(
        api,
        capture,
        [user_payload(1, name="Ada Lovelace", deleted=True, roles=["admin"]), user_payload(2, name="Bob Two")],
        existingUsers="update",
    )
    assert counts(operation) == {"created": 0, "error": 0, "updated": 1, "skipped": 0, "unchanged": 1}
    ada = by_email("u1@example.com")
    assert full_name(ada) == "Ada Lovelace" and not ada.is_active
    assert groups_of(ada) == {"user", "admin"}
    assert not ada.is_staff and not ada.is_superuser
    change = ImportChange.objects.get(operation_id=operation["_id"], action="updated")
    assert change.user_id == ada.pk
    assert change.changes["is_active"] == {"old": True, "new": False}
    assert change.changes["groups"] == {"old": ["user"], "new": ["admin", "user"]}
    name_fields = {k: v for k, v in change.changes.items() if k not in ("is_active", "groups")}
    if "full_name" in name_fields:
        assert name_fields == {"full_name": {"old": "Ada One", "new": "Ada Lovelace"}}
    else:
        assert name_fields == {"last_name": {"old": "One", "new": "Lovelace"}}


def test_a_second_update_run_changes_nothing(api, capture):
    users = [user_payload(n, name=f"User {n}", roles=["admin"] if n % 2 else []) for n in range(20)]
    first = import_users(api, capture, users, existingUsers="update")
    assert counts(first)["created"] == 20
    second = import_users(api, capture, users, existingUsers="update")
    assert counts(second) == {"created": 0, "error": 0, "updated": 0, "skipped": 0, "unchanged": 20}
    assert not ImportChange.objects.filter(operation_id=second["_id"]).exists()


def test_matches_by_email_then_username_and_links_the_importids(api, capture):
    by_mail = create_user("mailmatch")
    stage(api, [{"emails": ["MAILMATCH@example.com"], "importIds": ["slack-1"], "name": "Mail Match"}])
    operation = run(api, capture, existingUsers="update")
    assert counts(operation)["updated"] == 1
    by_mail.refresh_from_db()
    assert full_name(by_mail) == "Mail Match"
    assert getattr(by_mail, User.get_email_field_name()) == "mailmatch@example.com"  # the match key is not rewritten
    assert ImportedIdentity.objects.get(import_id="slack-1").user_id == by_mail.pk
    if HAS_USERNAME:
        by_name = create_user("namematch")
        stage(api, [{"emails": ["new-address@example.com"], "importIds": ["slack-2"], "username": "NameMatch"}])
        operation = run(api, capture, existingUsers="update")
        by_name.refresh_from_db()
        assert by_name.email == "new-address@example.com"  # matched by username: the email follows the source
        assert ImportedIdentity.objects.get(import_id="slack-2").user_id == by_name.pk


def test_importid_wins_over_email(api, capture):
    import_users(api, capture, [user_payload(1)])
    other = create_user("other")
    stage(api, [{**user_payload(1), "emails": ["u1-new@example.com"], "name": "Moved"}])
    operation = run(api, capture, existingUsers="update")
    assert counts(operation)["updated"] == 1
    assert full_name(by_email("u1-new@example.com")) == "Moved"
    other.refresh_from_db()
    assert full_name(other) == ""


def test_an_email_taken_by_a_third_user_fails_that_user(api, capture):
    import_users(api, capture, [user_payload(1, name="Ada")])
    create_user("third")
    stage(api, [{**user_payload(1), "emails": ["third@example.com"], "name": "Changed"}])
    operation = run(api, capture, existingUsers="update")
    assert counts(operation)["error"] == 1
    failure = ImportFailure.objects.get(operation_id=operation["_id"])
    assert (failure.code, failure.field, failure.value) == ("importer-user-email-in-use", "emails", "third@example.com")
    assert full_name(by_email("u1@example.com")) == "Ada"


@pytest.mark.parametrize(
    "who", ["superuser", "staff", "permission holder", "group permission holder", "operation permission holder"]
)
def test_protected_users_are_never_updated_nor_skipped(api, capture, who):
    target = create_user("target", is_staff=who == "staff")
    if who == "superuser":
        target.is_superuser = True
        target.save()
    elif who == "permission holder":
        target.user_permissions.add(Permission.objects.get(codename="view_importoperation"))
    elif who == "group permission holder":
        group = Group.objects.create(name="operators")
        group.permissions.add(Permission.objects.get(codename="run_import"))
        target.groups.add(group)
    elif who == "operation permission holder":  # what the creator of an operation holds
        from guardian.shortcuts import assign_perm

        from importops.models import ImportOperation

        stage(api, [user_payload(99)])
        assign_perm("importops.abort_importoperation", target, ImportOperation.objects.get(valid=True))
    before = User._default_manager.filter(pk=target.pk).values().get()
    for policy in ("update", "skip"):
        stage(api, [{"emails": ["target@example.com"], "importIds": ["x-1"], "name": "Taken Over", "roles": ["admin"]}])
        operation = run(api, capture, existingUsers=policy)
        assert counts(operation)["error"] == 1
        assert ImportFailure.objects.get(operation_id=operation["_id"]).code == "importer-user-protected"
    assert User._default_manager.filter(pk=target.pk).values().get() == before
    assert not ImportedIdentity.objects.filter(user_id=target.pk).exists()


def test_the_admin_running_the_import_is_protected_by_email_and_username(api, capture, admin):
    attempts = [{"emails": ["root@example.com"], "importIds": ["r-1"], "name": "Mallory"}]
    if HAS_USERNAME:
        attempts.append({"emails": ["someone@example.com"], "importIds": ["r-2"], "username": "ROOT"})
    for staged in attempts:
        stage(api, [staged])
        assert preview(api, existingUsers="update")["wouldFail"] == {"importer-user-protected": 1}
        operation = run(api, capture, existingUsers="update")
        assert ImportFailure.objects.get(operation_id=operation["_id"]).code == "importer-user-protected"
    admin.refresh_from_db()
    assert admin.is_superuser and full_name(admin) == "" and admin.check_password("pw-secret-1")


def test_passwords_change_only_when_the_run_says_so(api, capture):
    import_users(api, capture, [user_payload(1, password="first-pass")])
    import_users(api, capture, [user_payload(1, password="second-pass")], existingUsers="update")
    assert by_email("u1@example.com").check_password("first-pass")
    operation = import_users(
        api, capture, [user_payload(1, password="second-pass")], existingUsers="update", updatePasswords=True
    )
    assert by_email("u1@example.com").check_password("second-pass")
    change = ImportChange.objects.get(operation_id=operation["_id"])
    assert change.changes == {"password": {"old": "[redacted]", "new": "[redacted]"}}


def test_skip_links_importids_and_changes_nothing(api, capture):
    existing = create_user("skipme")
    before = User._default_manager.filter(pk=existing.pk).values().get()
    stage(api, [{"emails": ["skipme@example.com"], "importIds": ["s-1", "s-2"], "name": "Other"}, user_payload(5)])
    assert preview(api, existingUsers="skip") | {"success": True} == {
        "success": True,
        "wouldCreate": 1,
        "wouldUpdate": 0,
        "wouldSkip": 1,
        "unchanged": 0,
        "wouldFail": {},
        "samples": [],
        "updates": [],
    }
    operation = run(api, capture, existingUsers="skip")
    assert counts(operation) == {"created": 1, "error": 0, "updated": 0, "skipped": 1, "unchanged": 0}
    assert User._default_manager.filter(pk=existing.pk).values().get() == before
    assert set(ImportedIdentity.objects.filter(user_id=existing.pk).values_list("import_id", flat=True)) == {
        "s-1",
        "s-2",
    }
    change = ImportChange.objects.get(operation_id=operation["_id"], action="skipped")
    assert change.linked == ["s-1", "s-2"] and change.changes == {}


def test_two_staged_users_matching_one_existing_user(api, capture):
    create_user("twice")
    stage(
        api,
        [
            {"emails": ["twice@example.com"], "importIds": ["t-1"], "name": "First"},
            {"emails": ["TWICE@example.com"], "importIds": ["t-2"], "name": "Second"},
        ],
    )
    operation = run(api, capture, existingUsers="update")
    assert counts(operation)["updated"] == 1 and counts(operation)["error"] == 1
    assert full_name(by_email("twice@example.com")) == "First"


def test_preview_shows_the_diff_of_the_first_updates(api, capture):
    import_users(api, capture, [user_payload(n, name=f"Name {n}") for n in range(30)])
    stage(api, [user_payload(n, name=f"Renamed {n}") for n in range(25)] + [user_payload(99)])
    answer = preview(api, existingUsers="update")
    assert (answer["wouldCreate"], answer["wouldUpdate"], answer["unchanged"], answer["wouldSkip"]) == (1, 25, 0, 0)
    assert len(answer["updates"]) == 20
    first = answer["updates"][0]
    assert first["importId"] == "u-0" and first["matchedBy"] == "importId"
    assert first["changes"] in (
        {"first_name": {"old": "Name", "new": "Renamed"}},
        {"full_name": {"old": "Name 0", "new": "Renamed 0"}},
    )
    # Without a policy the preview answers as a run without one would.
    assert preview(api)["wouldFail"] == {"importer-user-already-imported": 25}


def test_the_policy_is_validated(api):
    stage(api, [user_payload(1)])
    response = api.post("import.run", {"existingUsers": "merge"})
    assert response.status_code == 400
    assert response.json()["error"] == 'existingUsers: must be one of "fail", "skip", "update"'
    response = api.post("import.preview", {"updatePasswords": "yes"})
    assert response.json()["error"] == "updatePasswords: must be a boolean"


def test_a_batch_checks_existing_users_with_a_fixed_number_of_queries(api, capture):
    import_users(api, capture, [user_payload(n, name="Old Name") for n in range(14)])

    names = []

    def queries_for(count):  # both counts fit in the first batch (16)
        stage(api, [user_payload(n, name=f"First{len(names)} Last{len(names)}") for n in range(count)])
        names.append(count)
        with CaptureQueriesContext(connection) as queries:
            run(api, capture, existingUsers="update")
        return len(queries)

    queries_for(4)  # warm-up: one-off lookups (content types, groups) are cached after it
    assert queries_for(14) == queries_for(4)


def test_admin_review_previews_and_starts_with_the_chosen_policy(api, admin, capture, client):
    from django.urls import reverse

    from tests.files import upload_body, users_csv, zipped

    import_users(api, capture, [{**user_payload(n), "name": f"Old {n}"} for n in range(3)])
    rows = [(f"u{n}", f"u{n}@example.com", f"New {n}") for n in range(5)]
    with capture(execute=True):
        api.post("uploadImportFile", upload_body(zipped({"users.csv": users_csv(rows)}), importer="csv", name="x.zip"))
    operation_id = api.get("import.status").json()["operation"]["_id"]
    client.force_login(admin)
    url = reverse("admin:importops_importoperation_review", args=[operation_id])
    page = client.get(url, {"existing_users": "update"}).content.decode()
    assert 'id="importops-would-create">2<' in page and 'id="importops-would-update">3<' in page
    assert "New 0" in page and 'id="importops-updates"' in page
    assert 'id="importops-would-update">0<' in client.get(url).content.decode()  # default: fail
    shown = [f"u{n}@example.com" for n in range(5)]
    with capture(execute=True):
        started = client.post(url, {"shown": shown, "selected": shown, "existing_users": "update"})
    assert started.status_code == 302
    operation = api.get("import.status").json()["operation"]
    assert counts(operation) == {"created": 2, "error": 0, "updated": 3, "skipped": 0, "unchanged": 0}
    assert full_name(by_email("u1@example.com")).startswith("New")


def test_start_import_takes_the_policy_beside_input(api, capture):
    from tests.files import upload_body, users_csv, zipped

    import_users(api, capture, [user_payload(1)])
    with capture(execute=True):
        api.post(
            "uploadImportFile",
            upload_body(
                zipped({"users.csv": users_csv([("u1", "u1@example.com", "X Y")])}), importer="csv", name="x.zip"
            ),
        )
    with capture(execute=True):
        response = api.post("startImport", {"input": {"users": {"all": True}}, "existingUsers": "skip"})
    assert response.status_code == 200, response.content
    assert counts(api.get("import.status").json()["operation"])["skipped"] == 1


def test_importops_import_existing_users_option(api, capture, tmp_path):
    import io

    from django.core.management import call_command

    from tests.files import jsonl

    import_users(api, capture, [user_payload(n) for n in range(2)])
    path = tmp_path / "users.jsonl"
    path.write_bytes(jsonl([user_payload(n, name="From File") for n in range(3)]))
    out = io.StringIO()
    with capture(execute=True):
        call_command(
            "importops_import", str(path), "--importer", "jsonl", "--run", "--existing-users", "update", stdout=out
        )
    operation = api.get("import.status").json()["operation"]
    assert counts(operation) == {"created": 1, "error": 0, "updated": 2, "skipped": 0, "unchanged": 0}
