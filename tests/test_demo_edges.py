"""The demo's own answers in front of the API: Django's 400 and the ASGI body ceiling."""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client, override_settings

from importops.api.base import largest_body
from rcimport.asgi import BodyCeiling


@override_settings(ALLOWED_HOSTS=["testserver"])
def test_a_host_not_allowed_gets_json_under_the_api_and_a_page_elsewhere(db):
    client = Client(HTTP_HOST="evil.example")
    response = client.get("/api/v1/me")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"success": False, "error": "Bad request"}
    assert "no-store" in response["Cache-Control"]
    page = client.get("/admin/")
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")


def call(headers: list[tuple[bytes, bytes]]) -> tuple[list[dict], bool]:
    sent: list[dict] = []
    reached = []

    async def app(scope, receive, send):
        reached.append(scope)

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/v1/import.addUsers", "headers": headers}
    # A thread of its own: browser tests may leave an event loop running in this one.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, BodyCeiling(app)(scope, receive, send)).result()
    return sent, bool(reached)


@pytest.mark.parametrize(
    ("headers", "status", "error_type"),
    [
        ([(b"transfer-encoding", b"chunked")], 411, "error-length-required"),
        ([(b"content-length", b"99999999999")], 413, "error-payload-too-large"),
    ],
)
def test_the_body_ceiling_refuses_from_the_headers_in_the_apis_envelope(headers, status, error_type):
    sent, reached = call(headers)
    assert not reached
    start, body = sent
    assert start["status"] == status
    assert (b"cache-control", b"no-store") in start["headers"]
    assert json.loads(body["body"])["errorType"] == error_type
    assert b": " not in body["body"]  # compact, like the API's own JSON


def test_the_body_ceiling_lets_a_body_within_the_limit_through():
    sent, reached = call([(b"content-length", str(largest_body()).encode())])
    assert reached and not sent
