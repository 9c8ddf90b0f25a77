"""Hostile and sloppy input: every class answers a JSON 4xx that names the problem, and
changes nothing — on SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import io
import json

import pytest
from django.test import Client, override_settings

from importops.conf import importops_settings
from importops.models import ImportOperation, ImportRecord
from tests.conftest import Api, user_payload

pytestmark = pytest.mark.django_db


def post_raw(api: Api, endpoint: str, raw: str | bytes, **extra):
    return api.client.post(f"/api/v1/{endpoint}", raw, content_type="application/json", **api.headers, **extra)


def staged_state():
    return list(ImportOperation.objects.order_by("ts").values_list("pk", "valid", "status", "count_total"))


def assert_refused(response, status: int, *needles: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["success"] is False
    for needle in needles:
        assert needle in body["error"], body


@pytest.fixture
def ready(api):
    """An operation with one staged user: what a refused request must leave alone."""
    assert api.post("import.new").status_code == 200
    assert api.post("import.addUsers", {"users": [user_payload(1)]}).status_code == 200
    return staged_state()


# -- pathological JSON --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ('{"users": [' + "[" * 5000 + "]" * 5000 + "]}", "nested"),  # main: RecursionError, 500
        ('{"users": [{"emails": ["a@example.com"], "importIds": ["x"], "utcOffset": NaN}]}', "NaN"),
        ('{"users": [{"emails": ["a@example.com"], "importIds": ["x"], "utcOffset": -Infinity}]}', "Infinity"),
        ('{"users": [{"emails": ["a@example.com"], "importIds": ["x"], "utcOffset": 1e999}]}', "out of range"),
        ('{"users": [{"emails": ["a@example.com"], "importIds": ["x"], "utcOffset": ' + "9" * 30 + "}]}", "range"),
        ('{"users": [{"emails": ["a@example.com"], "importIds": ["x"], "utcOffset": ' + "9" * 5000 + "}]}", "digits"),
        (
            '{"users": [{"emails": ["a@example.com"], "importIds": ["x"], "name": "a\\u0000b"}]}',
            "users[0].name: contains a NUL",
        ),
        ('{"users": [{"emails": ["a@example.com"], "importIds": ["x"], "bio": "\\ud800"}]}', "lone surrogate"),
        (
            '{"users": [{"emails": ["a@example.com"], "importIds": ["x"], "customFields": {"\\u0000": 1}}]}',
            "a key contains",
        ),
        ('{"users": [{"emails": ["a@example.com"], "importIds": ["x"], "\\udfff": 1}]}', "lone surrogate"),
        (b'{"users": [{"emails": ["\xff"]}]}', "utf-8"),
    ],
)
def test_pathological_json_is_refused_and_changes_nothing(api, ready, raw, problem):
    response = post_raw(api, "import.addUsers", raw)
    assert_refused(response, 400, problem)
    assert response.json()["errorType"] == "error-invalid-params"
    assert staged_state() == ready and ImportRecord.objects.count() == 1


def test_deep_but_reasonable_custom_fields_are_kept(api, ready):
    nested: dict = {}
    for _ in range(20):
        nested = {"n": nested}
    body = {"users": [user_payload(2, customFields=nested, utcOffset=-3.5, name="Zoë \U0001f600")]}
    assert api.post("import.addUsers", body).status_code == 200
    assert ImportRecord.objects.count() == 2


# -- request transport ----------------------------------------------------------------------


def test_max_request_size_is_the_limit_applied_to_json_bodies(api, ready):
    """Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) cut in first, naming MAX_REQUEST_SIZE."""
    body = {"users": [user_payload(n, bio="x" * 1000) for n in range(10, 3010)]}  # ~3.2 MB
    assert len(json.dumps(body)) > 3_000_000
    assert api.post("import.addUsers", body).status_code == 200
    assert ImportRecord.objects.count() == 3001


@override_settings(IMPORTOPS={"MAX_REQUEST_SIZE": 1000, "IMPORTABLE_ROLES": ["user"], "DEFAULT_ROLES": ["user"]})
def test_over_max_request_size_names_the_limit_and_changes_nothing(api):
    importops_settings.reload()
    api.post("import.new")
    before = staged_state()
    response = api.post("import.addUsers", {"users": [user_payload(n) for n in range(50)]})
    assert_refused(response, 413, "Request body exceeds 1000 bytes")
    assert staged_state() == before


def test_a_chunked_body_is_refused_not_read_as_empty(api, ready):
    """WSGI gives Django no length for a chunked body, which it then reads as empty."""
    response = post_raw(
        api, "import.addUsers", json.dumps({"users": [user_payload(9)]}), HTTP_TRANSFER_ENCODING="chunked"
    )
    assert_refused(response, 411, "Content-Length")
    assert staged_state() == ready


def test_a_form_body_over_djangos_own_limit_names_djangos_figure(db, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = Api().client.post("/api/v1/login", {"user": "x" * 5000, "password": "p"})
    assert_refused(response, 413, "Request body exceeds 1000 bytes")


# -- query parameters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "offset=%C2%B2",  # "²": str.isdigit() but not int() — main: 500
        "count=%D9%A3",  # Arabic-Indic 3
        "offset=99999999999999999999999",  # main: overflow in the database
        "count=-1",
        "offset=1&offset=2",
        "count=" + "9" * 5000,
        "offset=%00",
    ],
)
def test_query_parameters_of_any_shape(api, ready, query):
    response = api.client.get(f"/api/v1/getImportFileData?{query}", **api.headers)
    assert_refused(response, 400, "must be")
    assert staged_state() == ready


# -- file names ------------------------------------------------------------------------------

CSV = base64.b64encode(b"ada,ada@example.com,Ada\n").decode()


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("a" * 300 + ".csv", "too long"),
        ("users\x00.csv", "NUL"),
    ],
)
def test_bad_file_names_are_refused_before_the_operation_is_replaced(api, ready, name, problem):
    body = {"binaryContent": CSV, "contentType": "text/csv", "fileName": name, "importerKey": "csv"}
    response = api.client.post(
        "/api/v1/uploadImportFile", json.dumps(body), content_type="application/json", **api.headers
    )
    assert_refused(response, 400, problem)
    assert staged_state() == ready


def test_multipart_file_names_are_checked_too(api, ready):
    upload = io.BytesIO(b"ada,ada@example.com,Ada\n")
    upload.name = "users.csv"
    response = api.client.post(
        "/api/v1/uploadImportFile",
        {"file": upload, "importerKey": "csv", "fileName": "n" * 256, "contentType": "text/csv"},
        **api.headers,
    )
    assert_refused(response, 400, "too long")
    assert staged_state() == ready


@pytest.mark.parametrize("name", ["..", ".", "../..", "/", "\\\\", "  ", "<script>.csv", "ü" * 200 + ".csv"])
def test_odd_but_harmless_file_names_are_stored(api, ready, name):
    body = {"binaryContent": CSV, "contentType": "text/csv", "fileName": name, "importerKey": "csv"}
    response = api.client.post(
        "/api/v1/uploadImportFile", json.dumps(body), content_type="application/json", **api.headers
    )
    assert response.status_code == 200, response.content
    operation = ImportOperation.objects.get(valid=True)
    assert operation.file and len(operation.file_name) <= 255


# -- headers --------------------------------------------------------------------------------


def test_a_non_ascii_user_id_with_a_valid_token_is_a_401(api, admin):
    """hmac.compare_digest refuses non-ASCII str — main answered 500."""
    headers = {**api.headers, "HTTP_X_USER_ID": "1\u00e9"}
    response = api.client.get("/api/v1/me", **headers)
    assert_refused(response, 401, "logged in")


def test_login_with_nul_in_a_form_field_is_a_plain_failure(db):
    response = Api().client.post("/api/v1/login", {"user": "ro\x00ot", "password": "pw-secret-1"})
    assert_refused(response, 401, "Unauthorized")


# -- the admin ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/admin/importops/importrecord/?q=a%00b",
        "/admin/importops/importoperation/?q=%00",
        "/admin/importops/importoperation/?state=%00",
        "/admin/importops/authtoken/?q=%00",
        "/admin/importops/importedidentity/?q=%00",
        "/admin/importops/importoperation/%00/change/",
        "/admin/importops/importoperation/a%00/progress/",
        "/admin/importops/importoperation/a%00/abort/",
        "/admin/importops/importoperation/a%00/review/",
    ],
)
def test_admin_pages_answer_nul_in_a_query_or_id_without_a_500(api, ready, admin, url):
    """PostgreSQL refuses NUL in any text it compares — main answered 500 there."""
    client = Client()
    client.force_login(admin)
    response = client.get(url)
    assert response.status_code in (302, 400, 404), (url, response.status_code)
    assert staged_state() == ready
