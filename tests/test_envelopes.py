"""The envelopes of docs/api.md ("Envelopes"), and the order in which checks answer."""

import io
import re

import pytest
from django.test import Client

from importops.api.base import LimitedJSONParser
from importops.errors import PayloadTooLarge
from importops.services import operations
from tests.conftest import Api, users_payload

pytestmark = pytest.mark.django_db

FORBIDDEN = {
    "success": False,
    "error": "User does not have the permissions required for this action [error-unauthorized]",
}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_unknown_path_is_a_json_404():
    for method in ("get", "post", "delete"):
        response = getattr(Client(), method)("/api/v1/no.such.endpoint")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        body = response.json()
        assert body["success"] is False and isinstance(body["error"], str)


def test_wrong_method_is_a_json_405(api):
    response = api.get("import.new")
    assert response.status_code == 405
    assert response.json() == {"success": False, "error": 'Method "GET" not allowed.'}
    assert response["Allow"] == "POST, OPTIONS"
    assert api.post("import.status").status_code == 405


def test_body_over_the_limit_is_413_before_authentication(settings):
    settings.IMPORTOPS = {**settings.IMPORTOPS, "MAX_REQUEST_SIZE": 100}
    response = Client().post("/api/v1/import.addUsers", "x" * 101, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {
        "success": False,
        "errorType": "error-payload-too-large",
        "error": "Request body exceeds 100 bytes",
    }


def test_parser_never_reads_past_the_limit(settings):
    """Servers that stream a body without Content-Length (ASGI) meet the parser's own limit."""
    settings.IMPORTOPS = {**settings.IMPORTOPS, "MAX_REQUEST_SIZE": 100}
    stream = io.BytesIO(b"[" + b"1," * 1000 + b"1]")
    with pytest.raises(PayloadTooLarge):
        LimitedJSONParser().parse(stream)
    assert stream.tell() == 101


def test_default_limit_takes_ten_thousand_users(api):
    api.post("import.new")
    payload = users_payload(10_000, password="a fairly long plaintext password", name="Somebody With A Name")
    response = api.post("import.addUsers", payload)
    assert response.status_code == 200, response.content[:300]


def test_forbidden_is_exact(plain):
    response = Api(plain).post("import.new")
    assert response.status_code == 403
    assert response.json() == FORBIDDEN


def test_permission_is_checked_before_validation(plain):
    response = Api(plain).post("import.addUsers", {"bogus": 1})
    assert response.status_code == 403


def test_authentication_is_checked_before_permission_and_validation():
    response = Client().post("/api/v1/import.addUsers", "{not json", content_type="application/json")
    assert response.status_code == 401


def test_validation_error_names_field_paths(api):
    api.post("import.new")
    response = api.post(
        "import.addUsers",
        {
            "users": [
                {"emails": ["a@example.com"], "importIds": ["1"]},
                {"emails": "x", "importIds": [1], "utcOffset": "2"},
            ]
        },
    )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errorType": "error-invalid-params",
        "error": "users[1].emails: must be an array of strings\n"
        "users[1].importIds: must be an array of strings\n"
        "users[1].utcOffset: must be a number",
    }


def test_malformed_json_is_invalid_params(api):
    response = api.client.post("/api/v1/import.addUsers", "{nope", content_type="application/json", **api.headers)
    assert response.status_code == 400
    body = response.json()
    assert body["errorType"] == "error-invalid-params"
    assert body["error"].startswith("body: JSON parse error")


def test_unexpected_error_is_a_json_500_without_trace(api, monkeypatch, caplog):
    def explode(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(operations, "operation_create", explode)
    response = api.post("import.new")
    assert response.status_code == 500
    assert response.json() == {"success": False, "error": "Internal server error"}
    assert "secret internals" not in response.content.decode()
    assert "secret internals" in caplog.text  # logged server-side


def test_responses_are_not_cached(api):
    for response in (api.get("import.status"), api.get("no.such"), Client().get("/api/v1/import.status")):
        assert response["Cache-Control"] == "no-store"


def test_timestamps_have_three_fractional_digits(api):
    operation = api.post("import.new").json()["operation"]
    assert TIMESTAMP.match(operation["ts"]) and TIMESTAMP.match(operation["_updatedAt"])
