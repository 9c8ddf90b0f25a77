"""importops inside a host project whose DRF settings differ in everything DRF lets a project
set, whose own API lives under /api/v1/, with importops at the root or under a prefix."""

import json

import pytest
from django.test import Client

from importops.checks import check_routes_not_shadowed, check_unknown_keys
from tests.conftest import Api, users_payload
from tests.host import api as host

pytestmark = pytest.mark.django_db

NOT_LOGGED_IN = "You must be logged in to do this."


@pytest.fixture
def hostile(settings):
    settings.REST_FRAMEWORK = host.REST_FRAMEWORK
    settings.ROOT_URLCONF = "tests.host.urls_prefix"
    return settings


def test_host_settings_do_not_change_the_contract(hostile, admin, run_to_end):
    # The host parses forms only, throttles anonymous requests to one a day, and versions
    # by namespace: login still takes JSON, answers every time, under any namespace.
    for _ in range(3):
        response = Client().post(
            "/chat/api/v1/login",
            json.dumps({"user": "root@example.com", "password": "pw-secret-1"}),
            content_type="application/json",
        )
        assert response.status_code == 200, response.content
        assert response["Content-Type"] == "application/json"
        assert response.content.startswith(b'{"status":"success","success":true,')  # compact, not the host's
    token = response.json()["data"]["authToken"]

    api = Api(admin, token, prefix="/chat/api/v1/")
    assert api.post("import.new").status_code == 200
    assert api.post("import.addUsers", users_payload(3)).status_code == 200
    run_to_end(api)
    status = api.get("import.status?fmt=api&page=2")  # the host's format override and page
    assert status["Content-Type"] == "application/json"
    assert status.status_code == 200, status.content
    assert status.json()["state"] == "done"
    latest = api.get("getLatestImportOperations")
    assert isinstance(latest.json(), list) and len(latest.json()) == 1  # a bare array, never a page

    wrong = api.get("import.new")
    assert (wrong.status_code, wrong.content) == (405, b'{"success":false,"error":"Method \\"GET\\" not allowed."}')
    options = api.client.options("/chat/api/v1/import.status", **api.headers)  # host: no metadata class
    assert options.status_code == 200 and options.json()["name"]

    anonymous = Client().post("/chat/api/v1/import.new")
    assert anonymous.status_code == 401  # not the host's exception handler, not its authentication
    assert anonymous.json() == {"success": False, "status": "error", "message": NOT_LOGGED_IN, "error": NOT_LOGGED_IN}
    assert Client().post("/chat/api/v1/import.new", HTTP_X_HOST_KEY=host.HOST_KEY).status_code == 401


def test_unicode_is_written_as_is(hostile, admin):
    name_field = "first_name" if hasattr(admin, "first_name") else "full_name"
    setattr(admin, name_field, "Zoë")
    admin.save()
    me = Api(admin, prefix="/chat/api/v1/").get("me")
    assert "Zoë".encode() in me.content  # the host's UNICODE_JSON=False would write \\u00eb


def test_host_api_answers_exactly_as_before(settings, admin):
    settings.REST_FRAMEWORK = host.REST_FRAMEWORK

    def answers():
        requests = [
            ("/api/v1/things", {"HTTP_X_HOST_KEY": host.HOST_KEY, "HTTP_ACCEPT": "application/json"}),
            ("/api/v1/things?page=2", {"HTTP_X_HOST_KEY": host.HOST_KEY, "HTTP_ACCEPT": "application/json"}),
            ("/api/v1/things", {"HTTP_X_HOST_KEY": "wrong", "HTTP_ACCEPT": "application/json"}),
            ("/api/v1/no.such.endpoint", {}),
        ]
        return [
            (r.status_code, r.get("Content-Type"), r.content)
            for r in (Client().get(url, **headers) for url, headers in requests)
        ]

    settings.ROOT_URLCONF = "tests.host.urls_before"
    before = answers()
    assert before[0][0] == 200 and json.loads(before[0][2])["results"] == {"version": "v1", "things": ["Zoë"]}
    assert before[2][0] == 403 and b"hostError" in before[2][2]
    for urlconf in ("tests.host.urls_prefix", "tests.host.urls_root"):
        settings.ROOT_URLCONF = urlconf
        assert answers() == before, urlconf


def test_only_the_owned_mount_answers_unknown_paths_with_json(hostile):
    owned = Client().get("/rc/api/v1/no.such.endpoint")
    assert owned.status_code == 404
    assert owned.json() == {"success": False, "error": "Unknown path: /rc/api/v1/no.such.endpoint"}
    assert Client().get("/chat/api/v1/no.such.endpoint")["Content-Type"].startswith("text/html")  # the host's 404
    assert Client().post("/rc/api/v1/login", {}).status_code == 401  # every endpoint also under rc/


def test_a_host_route_shadowing_an_importops_path_is_flagged(settings):
    settings.ROOT_URLCONF = "tests.host.urls_root"
    warnings = check_routes_not_shadowed()
    assert [(w.id, w.msg) for w in warnings] == [
        ("importops.W004", "/api/v1/me is answered by tests.host.api.Me, not by importops.")
    ]
    settings.ROOT_URLCONF = "tests.host.urls_prefix"
    assert check_routes_not_shadowed() == []
    settings.ROOT_URLCONF = "tests.host.urls_before"  # importops' API not mounted at all
    assert check_routes_not_shadowed() == []


def test_unknown_importops_keys_are_flagged(settings):
    assert check_unknown_keys() == []
    settings.IMPORTOPS = {**settings.IMPORTOPS, "BATCH_SIZ": 10, "NOT_A_KEY": 1}
    warnings = check_unknown_keys()
    assert [(w.id, w.msg, w.hint) for w in warnings] == [
        ("importops.W003", "Unknown key 'BATCH_SIZ' in IMPORTOPS: it is ignored.", "Did you mean 'BATCH_SIZE'?"),
        (
            "importops.W003",
            "Unknown key 'NOT_A_KEY' in IMPORTOPS: it is ignored.",
            "The README's configuration reference lists every key.",
        ),
    ]


def test_every_view_pins_what_drf_would_read_from_the_host():
    """DRF takes these from REST_FRAMEWORK at import time unless a view sets them (the
    generated host projects prove it with real settings)."""
    from rest_framework.views import APIView as DRFView

    from importops.owned_urls import urlpatterns

    pinned = [
        "renderer_classes", "parser_classes", "authentication_classes", "throttle_classes", "permission_classes",
        "content_negotiation_class", "metadata_class", "versioning_class", "pagination_class", "settings", "schema",
        "get_exception_handler",
    ]  # fmt: skip
    for pattern in urlpatterns:
        view = getattr(pattern.callback, "view_class", None)
        if view is None or not issubclass(view, DRFView):
            assert pattern.name in {"health-live", "health-ready"}, pattern  # plain Django views: no DRF at all
            continue
        for name in pinned:
            owner = next(cls for cls in view.__mro__ if name in cls.__dict__)
            assert owner is not DRFView and owner.__module__.startswith("importops."), (view, name)
