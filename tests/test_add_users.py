"""import.addUsers: every rule of docs/api.md ("Bulk user import"), in order, and its rows of
"Transitions"."""

import pytest

from importops.models import ImportOperation, ImportRecord
from tests.conftest import user_payload, users_payload
from tests.factories import operation_in

pytestmark = pytest.mark.django_db

NOT_INITIALIZED = {"success": False, "error": "Import operation not initialized."}
CANNOT_RECEIVE = {"success": False, "error": "The current import operation can not receive new data."}
FINISHED = {"success": False, "error": "The current import operation is already finished."}
MISSING = {"success": False, "error": "Users are missing required data."}
INVALID_ROLES = {"success": False, "error": "One or more of the users have been assigned invalid roles."}


@pytest.mark.parametrize(
    "state", ["none", "new", "loading", "ready", "importing", "done", "error", "canceled", "invalid"]
)
def test_empty_users_is_200_and_changes_nothing_in_every_state(api, state):
    operation = None if state == "none" else operation_in(state)
    before = list(ImportOperation.objects.values())
    response = api.post("import.addUsers", {"users": []})
    assert response.status_code == 200 and response.json() == {"success": True}
    assert list(ImportOperation.objects.values()) == before
    assert ImportRecord.objects.count() == 0
    if operation:
        assert "count" not in api.get("import.status").json()["operation"]


@pytest.mark.parametrize(
    ("state", "answer"),
    [
        ("none", NOT_INITIALIZED),
        ("invalid", NOT_INITIALIZED),
        ("loading", CANNOT_RECEIVE),
        ("importing", CANNOT_RECEIVE),
        ("done", FINISHED),
        ("error", FINISHED),
        ("canceled", FINISHED),
    ],
)
def test_refused_states(api, state, answer):
    if state != "none":
        operation_in(state)
    response = api.post("import.addUsers", users_payload(2))
    assert response.status_code == 400
    assert response.json() == answer
    assert ImportRecord.objects.count() == 0


@pytest.mark.parametrize("state", ["new", "ready"])
def test_new_and_ready_accept_users_and_become_ready(api, state):
    operation = operation_in(state, count_total=3 if state == "ready" else 0, count_users=3 if state == "ready" else 0)
    response = api.post("import.addUsers", users_payload(2))
    assert response.status_code == 200 and response.json() == {"success": True}
    status = api.get("import.status").json()
    assert status["state"] == "ready"
    assert status["operation"]["status"] == "importer_user_selection"
    expected = 5 if state == "ready" else 2
    assert status["operation"]["count"] == {
        "total": expected,
        "completed": 0,
        "error": 0,
        "users": expected,
        "channels": 0,
        "messages": 0,
        "updated": 0,
        "skipped": 0,
        "unchanged": 0,
    }
    assert ImportRecord.objects.filter(operation=operation).count() == 2


def test_state_is_checked_before_the_users(api):
    operation_in("done")
    assert api.post("import.addUsers", {"users": [{"emails": []}]}).json() == FINISHED


@pytest.mark.parametrize(
    "bad_user",
    [
        {"importIds": ["x"]},
        {"emails": ["x@example.com"]},
        {"emails": [], "importIds": ["x"]},
        {"emails": [""], "importIds": ["x"]},
        {"emails": ["  "], "importIds": ["x"]},
        {"emails": ["x@example.com"], "importIds": [""]},
        {"emails": None, "importIds": ["x"]},
    ],
)
def test_missing_required_data_refuses_the_whole_batch(api, bad_user):
    api.post("import.new")
    response = api.post("import.addUsers", {"users": [user_payload(1), bad_user]})
    assert response.status_code == 400 and response.json() == MISSING
    assert ImportRecord.objects.count() == 0
    assert api.get("import.status").json()["state"] == "new"


def test_missing_data_is_checked_before_roles(api):
    api.post("import.new")
    response = api.post("import.addUsers", {"users": [user_payload(1, roles=["owner"]), {"importIds": ["x"]}]})
    assert response.json() == MISSING


def test_invalid_role_refuses_the_whole_batch(api):
    api.post("import.new")
    response = api.post("import.addUsers", {"users": [user_payload(1), user_payload(2, roles=["user", "superadmin"])]})
    assert response.status_code == 400 and response.json() == INVALID_ROLES
    assert ImportRecord.objects.count() == 0


def test_importable_and_default_roles_are_accepted(api, settings):
    settings.IMPORTOPS = {**settings.IMPORTOPS, "DEFAULT_ROLES": ["member"], "IMPORTABLE_ROLES": ["admin"]}
    api.post("import.new")
    assert api.post("import.addUsers", {"users": [user_payload(1, roles=["admin", "member"])]}).status_code == 200
    assert api.post("import.addUsers", {"users": [user_payload(2, roles=["user"])]}).json() == INVALID_ROLES


def test_roles_are_the_union_with_default_roles_deduplicated(api, settings):
    settings.IMPORTOPS = {**settings.IMPORTOPS, "DEFAULT_ROLES": ["user"], "IMPORTABLE_ROLES": ["admin"]}
    api.post("import.new")
    api.post("import.addUsers", {"users": [user_payload(1, roles=["admin", "user", "admin"]), user_payload(2)]})
    roles = [r.data["roles"] for r in ImportRecord.objects.order_by("id")]
    assert roles == [["admin", "user"], ["user"]]


def test_app_default_roles_are_empty_and_nothing_is_importable(api, settings):
    settings.IMPORTOPS = {}
    api.post("import.new")
    assert api.post("import.addUsers", {"users": [user_payload(1, roles=["user"])]}).json() == INVALID_ROLES
    assert api.post("import.addUsers", {"users": [user_payload(1)]}).status_code == 200
    assert "roles" not in ImportRecord.objects.get().data


def test_unknown_user_keys_are_dropped_and_secrets_kept_apart(api):
    api.post("import.new")
    user = user_payload(
        1,
        password="plain secret",
        services={"password": {"bcrypt": "$2b$10$" + "a" * 53}, "google": {"id": 1}},
        favouriteColour="green",
        bio="hello",
    )
    assert api.post("import.addUsers", {"users": [user]}).status_code == 200
    record = ImportRecord.objects.get()
    assert "favouriteColour" not in record.data and record.data["bio"] == "hello"
    assert "password" not in record.data and "services" not in record.data
    assert "plain secret" not in str(record.data) and "$2b$" not in str(record.data)
    assert record.secret == {"password": "plain secret", "bcrypt": "$2b$10$" + "a" * 53}


def test_extracted_columns_are_case_folded(api):
    api.post("import.new")
    api.post(
        "import.addUsers", {"users": [{"emails": [" Ada@Example.COM "], "importIds": ["U024BE7LH"], "username": "Ada"}]}
    )
    record = ImportRecord.objects.get()
    assert (record.email, record.username, record.import_id) == ("ada@example.com", "ada", "u024be7lh")
    assert record.data["emails"] == [" Ada@Example.COM "]  # the data itself is kept as sent


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"users": [], "extra": 1}, "extra: is not allowed"),
        ({}, "users: is required"),
        ({"users": {}}, "users: must be an array"),
        ([], "body: must be an object"),
        ({"users": ["x"]}, "users[0]: must be an object"),
        (
            {"users": [{"emails": ["a@example.com"], "importIds": ["1"], "deleted": "true"}]},
            "users[0].deleted: must be a boolean",
        ),
        (
            {"users": [{"emails": ["a@example.com"], "importIds": ["1"], "type": "robot"}]},
            'users[0].type: must be one of "user", "bot"',
        ),
        (
            {"users": [{"emails": ["a@example.com"], "importIds": ["1"], "roles": "user"}]},
            "users[0].roles: must be an array of strings",
        ),
        (
            {"users": [{"emails": ["a@example.com"], "importIds": ["1"], "utcOffset": True}]},
            "users[0].utcOffset: must be a number",
        ),
        (
            {"users": [{"emails": ["a@example.com"], "importIds": ["1"], "customFields": []}]},
            "users[0].customFields: must be an object",
        ),
    ],
)
def test_validation_errors(api, body, problem):
    api.post("import.new")
    response = api.post("import.addUsers", body)
    assert response.status_code == 400
    assert response.json() == {"success": False, "errorType": "error-invalid-params", "error": problem}


def test_validation_comes_before_the_state_rules(api):
    response = api.post("import.addUsers", {"users": [], "extra": True})
    assert response.json()["errorType"] == "error-invalid-params"


def test_null_optional_fields_are_absent(api):
    api.post("import.new")
    response = api.post("import.addUsers", {"users": [user_payload(1, name=None, utcOffset=None, roles=None)]})
    assert response.status_code == 200
    assert "name" not in ImportRecord.objects.get().data


def test_count_is_absent_until_data_arrives(api):
    operation = api.post("import.new").json()["operation"]
    assert "count" not in operation
    api.post("import.addUsers", users_payload(1))
    assert api.get("import.status").json()["operation"]["count"]["users"] == 1


def test_written_to_the_admin_history(api):
    from django.contrib.admin.models import LogEntry

    operation = api.post("import.new").json()["operation"]
    api.post("import.addUsers", users_payload(3))
    assert LogEntry.objects.filter(object_id=operation["_id"], change_message__contains="Added 3 users").exists()
