"""The OpenAPI schema: served, complete, rendered offline, and true of every error envelope."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
from django.contrib.staticfiles import finders
from django.test import Client, override_settings
from django.urls import get_resolver

from importops.conf import importops_settings
from tests.conftest import Api, user_payload

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    response = Client().get("/api/v1/schema")
    assert response.status_code == 200
    return json.loads(response.content)


def openapi30_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable`` as JSON Schema's ``"type": [..., "null"]``."""
    if isinstance(node, list):
        return [openapi30_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: openapi30_to_jsonschema(value) for key, value in node.items()}
    if node.pop("nullable", False) and "type" in node:
        node["type"] = [node["type"], "null"]
    return node


def check(schema: dict[str, Any], path: str, method: str, response) -> None:
    """The response is documented for this operation, status and body."""
    answers = schema["paths"][f"/api/v1/{path}"][method]["responses"]
    assert str(response.status_code) in answers, (path, response.status_code, list(answers))
    documented = answers[str(response.status_code)]["content"]["application/json"]["schema"]
    root = openapi30_to_jsonschema({**documented, "components": schema["components"]})
    jsonschema.validate(response.json(), root)


def test_every_endpoint_is_in_the_schema(schema):
    routes = {
        str(pattern.pattern).removeprefix("api/v1/")
        for pattern in get_resolver("importops.urls").url_patterns
        if pattern.name not in ("schema", "docs") and str(pattern.pattern).startswith("api/v1/")
    }  # the health probes (importops/health/...) are for load balancers, not API clients
    assert {path.removeprefix("/api/v1/") for path in schema["paths"]} == routes
    assert schema["openapi"].startswith("3.")
    assert {"userId", "authToken"} <= set(schema["components"]["securitySchemes"])
    upload = schema["paths"]["/api/v1/uploadImportFile"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(upload)
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            codes = set(operation["responses"])
            assert {"200", "401", "429", "500"} <= codes, path


def test_yaml_too(db):
    response = Client().get("/api/v1/schema?format=yaml")
    assert response.status_code == 200 and response.content.startswith(b"openapi: 3.")


def test_docs_page_renders_from_local_static_files_only(db):
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/api/v1/schema" in html
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and not [url for url in urls if "//" in url]
    for url in urls:
        assert finders.find(url.removeprefix("/static/")), url


def test_readme_and_landing_pages_link_the_docs(admin):
    assert b"/api/v1/docs" in Client().get("/").content
    client = Client()
    client.force_login(admin)
    assert b"/api/v1/docs" in client.get("/admin/").content


def test_every_error_envelope_validates_against_the_schema(schema, api, plain):
    check(schema, "me", "get", Api().get("me"))  # 401, no token
    check(schema, "import.new", "post", Api(plain).post("import.new"))  # 403
    check(schema, "import.run", "post", api.post("import.run"))  # 400, an import rule
    check(schema, "import.addUsers", "post", api.post("import.addUsers", {"users": [{"emails": 1}]}))  # 400 invalid
    check(schema, "import.addUsers", "post", api.post("import.addUsers", {"users": [user_payload(1)]}))  # 400 rule
    upload = {"binaryContent": "", "contentType": "x", "fileName": "x", "importerKey": "nope"}
    check(schema, "uploadImportFile", "post", api.post("uploadImportFile", upload))  # 400 typed
    check(schema, "getImportProgress", "get", api.get("getImportProgress"))  # 400 not found
    check(schema, "login", "post", Api().client.post("/api/v1/login", {"user": "nobody", "password": "x"}))  # 401
    chunked = api.client.post(
        "/api/v1/import.addUsers",
        "{}",
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
        **api.headers,
    )
    check(schema, "import.addUsers", "post", chunked)  # 411
    no_body = api.client.post("/api/v1/import.new", HTTP_TRANSFER_ENCODING="chunked", **api.headers)
    check(schema, "import.new", "post", no_body)  # 411 on a POST without a body, too
    with override_settings(IMPORTOPS={"MAX_REQUEST_SIZE": 10, "RATE_LIMIT": 1}):
        importops_settings.reload()
        check(schema, "import.addUsers", "post", api.post("import.addUsers", {"users": []}))  # 413
        Api(plain).get("me")
        check(schema, "me", "get", Api(plain).get("me"))  # 429
    importops_settings.reload()


def test_success_bodies_validate_against_the_schema(schema, api, run_to_end):
    check(schema, "import.status", "get", api.get("import.status"))
    check(schema, "import.new", "post", api.post("import.new"))
    check(schema, "import.addUsers", "post", api.post("import.addUsers", {"users": [user_payload(1)]}))
    check(schema, "import.preview", "post", api.post("import.preview"))
    check(schema, "getImportFileData", "get", api.get("getImportFileData"))
    check(schema, "import.run", "post", run_to_end(api))
    for path in ("import.status", "getCurrentImportOperation", "getLatestImportOperations", "importers.list"):
        check(schema, path, "get", api.get(path))
    check(schema, "getImportProgress", "get", api.get("getImportProgress"))
    check(schema, "me", "get", api.get("me"))
    login = Api().client.post("/api/v1/login", {"user": "root@example.com", "password": "pw-secret-1"})
    assert login.status_code == 200
    check(schema, "login", "post", login)
