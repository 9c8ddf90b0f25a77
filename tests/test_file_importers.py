"""File importers (docs/api.md, "File importers"): upload (JSON and multipart), parse in the
background, list, select, start; every malformed file ends in a clear reason or a 4xx."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import storages

from importops.models import ImportOperation, ImportRecord
from tests.files import jsonl, rocketchat_zip, slack_csv, upload_body, users_csv, zipped

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def upload(api, django_capture_on_commit_callbacks):
    """Upload through the API; the inline task backend parses it when the request commits."""

    def send(content: bytes, *, importer: str = "csv", name: str = "export.zip"):
        with django_capture_on_commit_callbacks(execute=True):
            return api.post("uploadImportFile", upload_body(content, importer=importer, name=name))

    return send


def latest():
    return ImportOperation.objects.with_progress().order_by("-ts").first()


def test_importers_list(api):
    assert api.get("importers.list").json() == [
        {"key": "csv", "name": "CSV"},
        {"key": "slack-users", "name": "Slack_Users"},
        {"key": "jsonl", "name": "JSONL"},
    ]


def test_rocketchat_csv_zip_to_ready(api, upload):
    response = upload(rocketchat_zip(12))
    assert response.status_code == 200 and response.json() == {"success": True}
    operation = latest()
    assert (operation.status, operation.type, operation.importer_key) == ("importer_user_selection", "CSV", "csv")
    assert (operation.count_users, operation.count_channels, operation.count_messages) == (12, 2, 2)
    body = api.get("import.status").json()["operation"]
    assert body["file"] == "export.zip" and body["contentType"] == "application/octet-stream"
    data = api.get("getImportFileData").json()
    assert data["success"] is True and data["name"] == "export.zip" and data["message_count"] == 2
    assert [c["name"] for c in data["channels"]] == ["general", "random"]
    assert data["users"][0] == {
        "user_id": "c0",
        "username": "c0",
        "email": "c0@example.com",
        "is_deleted": False,
        "is_bot": False,
        "do_import": True,
        "is_email_taken": False,
    }
    assert "total" not in data and "truncated" not in data


def test_start_import_with_a_selection_then_done(api, upload, run_to_end, django_capture_on_commit_callbacks):
    upload(rocketchat_zip(5))
    body = {"input": {"users": {"all": False, "list": ["c0", "C2", "c4"]}}}
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("startImport", body).json() == {"success": True}
    progress = api.get("getImportProgress").json()
    assert progress == {
        "key": "csv",
        "name": "CSV",
        "step": "importer_done",
        "count": {"total": 3, "completed": 3, "error": 0},
        "success": True,
    }
    assert sorted(
        User._default_manager.filter(**{f"{User.get_email_field_name()}__startswith": "c"}).values_list(
            User.get_email_field_name(), flat=True
        )
    ) == ["c0@example.com", "c2@example.com", "c4@example.com"]
    assert ImportRecord.objects.filter(data_type="user", skipped=True).count() == 2


def test_start_import_pre_7_body(api, upload, django_capture_on_commit_callbacks):
    upload(rocketchat_zip(3))
    users = [
        {"user_id": "c0", "do_import": True},
        {"user_id": "c1", "do_import": False},
        {"user_id": "c2", "do_import": True, "username": "ignored"},
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("startImport", {"input": {"users": users, "channels": []}}).status_code == 200
    assert latest().completed == 2 and latest().count_total == 2


def test_start_import_all(api, upload, django_capture_on_commit_callbacks):
    upload(rocketchat_zip(4))
    with django_capture_on_commit_callbacks(execute=True):
        api.post("startImport", {"input": {"users": {"all": True}}})
    assert latest().completed == 4


def test_start_import_needs_a_ready_operation(api):
    assert api.post("startImport", {"input": {"users": {"all": True}}}).json() == {
        "success": False,
        "error": "error-operation-not-found",
    }
    api.post("import.new")
    assert api.post("startImport", {"input": {"users": {"all": True}}}).json() == {
        "success": False,
        "error": "error-invalid-operation-status",
    }
    response = api.post("startImport", {"input": {"users": "everybody"}})
    assert response.json()["errorType"] == "error-invalid-params"


def test_multipart_upload(api, django_capture_on_commit_callbacks):
    content = io.BytesIO(users_csv([("ada", "ada@example.com", "Ada"), ("bob", "bob@example.com", "Bob")]))
    content.name = "users.csv"
    with django_capture_on_commit_callbacks(execute=True):
        response = api.client.post("/api/v1/uploadImportFile", {"file": content, "importerKey": "csv"}, **api.headers)
    assert response.status_code == 200, response.content
    assert (latest().status, latest().count_users, latest().file_name) == ("importer_user_selection", 2, "users.csv")


def test_multipart_upload_names_what_is_missing(api):
    def invalid(form):
        response = api.client.post("/api/v1/uploadImportFile", form, **api.headers)
        assert response.status_code == 400 and response.json()["errorType"] == "error-invalid-params"
        return response.json()["error"]

    content = io.BytesIO(b"ada,ada@example.com,Ada\n")
    content.name = "users.csv"
    assert invalid({"fileName": "users.csv"}) == "file: is required\nimporterKey: is required"
    assert invalid({"file": content}) == "importerKey: is required"
    assert not ImportOperation.objects.exists()


def test_bare_users_csv_with_bom(upload):
    upload(b"\xef\xbb\xbf" + users_csv([("zoe", "zoe@example.com", "Zoe")]), name="users.csv")
    assert latest().count_users == 1
    assert ImportRecord.objects.get(data_type="user").data["username"] == "zoe"


def test_slack_member_list(upload, api, django_capture_on_commit_callbacks):
    upload(
        slack_csv(
            [
                ("ann", "ann@example.com", "Member", "U01", "Ann Lee"),
                ("old", "old@example.com", "Deactivated", "U02", "Old Timer"),
                ("bot", "bot@example.com", "Bot", "U03", "Build Bot"),
            ]
        ),
        importer="slack-users",
        name="slack-members.csv",
    )
    operation = latest()
    assert (operation.status, operation.type, operation.count_users) == ("importer_user_selection", "Slack_Users", 3)
    with django_capture_on_commit_callbacks(execute=True):
        api.post("startImport", {"input": {"users": {"all": True}}})
    emails = User.get_email_field_name()
    assert not User._default_manager.get(**{emails: "old@example.com"}).is_active
    assert User._default_manager.get(**{emails: "ann@example.com"}).get_full_name() == "Ann Lee"
    from importops.models import ImportedIdentity

    assert ImportedIdentity.objects.get(import_id="U03").data["type"] == "bot"


def test_jsonl(upload):
    upload(
        jsonl(
            [
                {"emails": ["j1@example.com"], "importIds": ["j1"], "name": "J One", "unknown": 1},
                {"emails": ["j2@example.com"], "importIds": ["j2"], "roles": ["admin"]},
            ]
        ),
        importer="jsonl",
        name="users.jsonl",
    )
    assert latest().count_users == 2
    data = ImportRecord.objects.order_by("id").first().data
    assert "unknown" not in data and data["name"] == "J One"


def test_unknown_importer(api):
    response = api.post("uploadImportFile", upload_body(b"x", importer="nope", name="x.csv"))
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errorType": "error-importer-not-defined",
        "error": "The importer (nope) has no import class defined. [error-importer-not-defined]",
    }


def test_upload_body_needs_every_field(api):
    response = api.post("uploadImportFile", {"binaryContent": "eA==", "importerKey": "csv", "extra": 1})
    assert response.json() == {
        "success": False,
        "errorType": "error-invalid-params",
        "error": "extra: is not allowed\ncontentType: is required\nfileName: is required",
    }


class TestRefusedFiles:
    """Every malformed file: a clear reason (failed operation) or a 4xx; nothing staged."""

    def failed_with(self, reason_part: str):
        operation = latest()
        assert operation.status == "importer_import_failed", operation.status
        assert reason_part in operation.failure_reason, operation.failure_reason
        assert not ImportRecord.objects.filter(operation=operation).exists()
        return operation.failure_reason

    def refused_at_once(self, response, reason_part: str, previous):
        assert response.status_code == 400, response.content
        body = response.json()
        assert body["errorType"] == "error-invalid-import-file" and reason_part in body["error"], body
        assert latest() == previous  # nothing replaced, nothing staged
        assert not ImportRecord.objects.exists()

    def test_wrong_column_count_names_the_line(self, upload):
        rows = [(f"u{n}", f"u{n}@example.com", "Name") for n in range(16)] + [("short", "x@example.com")]
        upload(zipped({"users.csv": users_csv(rows)}))
        assert self.failed_with("users.csv line 17: 2 columns, expected 3") == (
            "users.csv line 17: 2 columns, expected 3 (username,email,name)"
        )

    def test_not_utf8(self, upload):
        upload(zipped({"users.csv": "ann,ann@example.com,Ann\nzoë,z@example.com,Zoë\n".encode("latin-1")}))
        self.failed_with("users.csv line 2: not UTF-8")

    def test_zip_bomb_refused_before_inflating(self, api, upload):
        previous = latest()
        bomb = zipped({"users.csv": b"\0" * (20 * 1024 * 1024)})
        assert len(bomb) < 100_000
        self.refused_at_once(upload(bomb), "possible ZIP bomb", previous)

    def test_too_many_entries(self, api, upload, settings):
        settings.IMPORTOPS = {**settings.IMPORTOPS, "MAX_ZIP_ENTRIES": 3}
        previous = latest()
        self.refused_at_once(upload(zipped({f"f{n}.csv": b"x" for n in range(4)})), "4 entries", previous)

    def test_path_traversal_entries_are_ignored(self, upload):
        upload(zipped({"../users.csv": users_csv([("evil", "evil@example.com", "E")]), "/etc/users.csv": b"x"}))
        self.failed_with("no users.csv at the root")

    def test_path_traversal_entry_beside_a_good_file(self, upload):
        upload(
            zipped(
                {
                    "users.csv": users_csv([("good", "good@example.com", "G")]),
                    "../../users.csv": users_csv([("evil", "evil@example.com", "E")]),
                }
            )
        )
        assert latest().count_users == 1
        assert ImportRecord.objects.get(data_type="user").data["username"] == "good"

    def test_empty_zip(self, upload):
        previous = latest()
        self.refused_at_once(upload(zipped({})), "is empty", previous)

    def test_not_a_zip_with_a_zip_name(self, upload):
        previous = latest()
        self.refused_at_once(upload(b"this is not a zip", name="users.zip"), "not a valid ZIP", previous)

    def test_zero_byte_file(self, upload):
        previous = latest()
        self.refused_at_once(upload(b"", name="users.csv"), "is empty", previous)

    def test_bad_jsonl_line(self, upload):
        upload(
            jsonl([{"emails": ["a@example.com"], "importIds": ["a"]}]) + b'{"emails": "x"}\n',
            importer="jsonl",
            name="u.jsonl",
        )
        self.failed_with("u.jsonl line 2: emails: must be an array of strings")

    def test_slack_list_without_the_columns(self, upload):
        upload(b"who,what\nx,y\n", importer="slack-users", name="members.csv")
        self.failed_with("needs an 'email' or 'username' column")

    def test_no_users_in_the_file(self, upload):
        upload(zipped({"users.csv": b"\n\n"}))
        self.failed_with("no users found")

    def test_upload_over_the_limit_is_413(self, api, settings):
        settings.IMPORTOPS = {**settings.IMPORTOPS, "MAX_UPLOAD_SIZE": 1000}
        response = api.post("uploadImportFile", upload_body(b"x" * 1001, importer="csv", name="users.csv"))
        assert response.status_code == 413 and response.json()["errorType"] == "error-payload-too-large"

    def test_the_server_keeps_serving(self, api, upload):
        upload(b"", name="x.zip")
        upload(b"PK\x03\x04garbage", name="x.zip")
        assert api.get("import.status").status_code == 200


def test_file_data_waits_while_parsing_and_pages(api, upload, settings):
    from tests.factories import operation_in

    operation_in("loading")
    assert api.get("getImportFileData").json() == {"waiting": True, "success": True}
    upload(rocketchat_zip(25))
    page = api.get("getImportFileData?offset=10&count=5").json()
    assert [u["user_id"] for u in page["users"]] == [f"c{n}" for n in range(10, 15)] and page["total"] == 25
    settings.IMPORTOPS = {**settings.IMPORTOPS, "FILE_DATA_MAX_USERS": 20}
    capped = api.get("getImportFileData").json()
    assert len(capped["users"]) == 20 and capped["total"] == 25 and capped["truncated"] is True
    assert api.get("getImportFileData?offset=-1").json()["errorType"] == "error-invalid-params"
    before = list(ImportOperation.objects.values())
    api.get("getImportFileData")
    assert list(ImportOperation.objects.values()) == before  # no side effects


def test_file_data_and_progress_without_an_operation(api):
    # This message comes without an errorType (docs/api.md, "Envelopes": an import rule).
    expected = {"success": False, "error": "Import Operation Not Found [error-operation-not-found]"}
    assert api.get("getImportFileData").json() == expected
    assert api.get("getImportProgress").json() == expected


def test_is_email_taken(api, upload):
    from tests.conftest import create_user

    create_user("c1")
    upload(rocketchat_zip(3))
    taken = {u["user_id"]: u["is_email_taken"] for u in api.get("getImportFileData").json()["users"]}
    assert taken == {"c0": False, "c1": True, "c2": False}


def test_files_are_deleted_when_the_operation_is_replaced_or_cleared(api, django_capture_on_commit_callbacks):
    """Before their parse (after it, see test_secrets: a staged file is gone at once)."""
    storage = storages["default"]

    def stored() -> str:
        assert (
            api.post("uploadImportFile", upload_body(rocketchat_zip(2), importer="csv", name="x.zip")).status_code
            == 200
        )
        return latest().file

    first = stored()  # not parsed: this test's transaction never commits
    assert first and storage.exists(first)
    with django_capture_on_commit_callbacks(execute=True):
        api.post("import.new")
    assert not storage.exists(first)
    second = stored()
    assert storage.exists(second)
    with django_capture_on_commit_callbacks(execute=True):
        api.post("import.clear")
    assert not storage.exists(second)
