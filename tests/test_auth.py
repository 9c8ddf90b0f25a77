"""login / logout / me and the X-User-Id / X-Auth-Token scheme (docs/api.md, "Authentication")."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from importops.models import AuthToken
from importops.models.token import token_digest
from tests.conftest import HAS_USERNAME, Api, create_user

NOT_LOGGED_IN = {
    "success": False,
    "status": "error",
    "message": "You must be logged in to do this.",
    "error": "You must be logged in to do this.",
}
LOGIN_FAILED = {"status": "error", "success": False, "error": "Unauthorized", "message": "Unauthorized"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return create_user("alice", password="correct horse")


def login_bodies():
    bodies = [
        {"user": "alice@example.com", "password": "correct horse"},
        {"email": "alice@example.com", "password": "correct horse"},
        {"user": {"email": "alice@example.com"}, "password": "correct horse"},
    ]
    if HAS_USERNAME:
        bodies += [
            {"user": "alice", "password": "correct horse"},
            {"username": "alice", "password": "correct horse"},
            {"user": {"username": "alice"}, "password": "correct horse"},
        ]
    return bodies


def encoded_login_bodies():
    for body in login_bodies():
        yield pytest.param(body, "json", id=f"json-{sorted(body)}")
        if not isinstance(body.get("user"), dict):  # a nested object cannot be form-encoded
            yield pytest.param(body, "form", id=f"form-{sorted(body)}")


@pytest.mark.parametrize(("body", "encoding"), list(encoded_login_bodies()))
def test_login_variants(alice, body, encoding):
    client = Client()
    if encoding == "json":
        response = client.post("/api/v1/login", body, content_type="application/json")
    else:
        response = client.post("/api/v1/login", body)  # multipart form data
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "success" and data["success"] is True
    assert data["data"]["userId"] == str(alice.pk)
    token = data["data"]["authToken"]
    assert len(token) == 43
    assert AuthToken.objects.get(user=alice).digest == token_digest(token)
    me = data["data"]["me"]
    assert me["_id"] == str(alice.pk)
    assert me["emails"] == [{"address": "alice@example.com", "verified": False}]
    assert "password" not in str(me).lower() and token not in str(me)


def test_login_form_urlencoded_body(alice):
    response = Client().post(
        "/api/v1/login",
        "user=alice%40example.com&password=correct+horse",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert response.json()["data"]["userId"] == str(alice.pk)


def test_token_stored_only_as_digest(alice):
    token = (
        Client()
        .post("/api/v1/login", {"user": "alice@example.com", "password": "correct horse"})
        .json()["data"]["authToken"]
    )
    stored = AuthToken.objects.get(user=alice)
    assert stored.digest != token and token not in stored.digest
    assert len(stored.digest) == 44  # standard base64 of 32 bytes


@pytest.mark.parametrize(
    "body",
    [
        {"user": "alice@example.com", "password": "wrong"},
        {"user": "nobody@example.com", "password": "correct horse"},
        {"user": "alice@example.com"},
        {"password": "correct horse"},
        {},
        {"resume": "not-a-token"},
    ],
)
def test_login_failures_all_answer_the_same(alice, body):
    response = Client().post("/api/v1/login", body, content_type="application/json")
    assert response.status_code == 401
    assert response.json() == LOGIN_FAILED


def test_inactive_user_cannot_log_in(alice):
    alice.is_active = False
    alice.save()
    response = Client().post("/api/v1/login", {"user": "alice@example.com", "password": "correct horse"})
    assert response.status_code == 401
    assert response.json() == LOGIN_FAILED


def test_resume_login_with_a_live_token(alice):
    _, raw = AuthToken.objects.issue(user=alice)
    response = Client().post("/api/v1/login", {"resume": raw}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["data"]["authToken"] == raw


def test_me(alice):
    response = Api(alice).get("me")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["_id"] == str(alice.pk)
    assert body["active"] is True
    assert body["roles"] == []
    assert set(body) == {"_id", "username", "name", "emails", "active", "roles", "success"}


def test_logout_revokes_the_token(alice):
    client = Api(alice)
    response = client.post("logout")
    assert response.status_code == 200
    assert response.json() == {"status": "success", "success": True, "data": {"message": "You've been logged out!"}}
    assert client.get("me").status_code == 401


class TestUnauthenticated:
    """Every way of not being logged in answers 401 with the exact body — never 403."""

    def check(self, response):
        assert response.status_code == 401
        assert response.json() == NOT_LOGGED_IN

    def test_no_headers(self):
        self.check(Client().post("/api/v1/import.new"))

    def test_only_user_id(self, alice):
        self.check(Client().post("/api/v1/import.new", HTTP_X_USER_ID=str(alice.pk)))

    def test_only_token(self, alice):
        _, raw = AuthToken.objects.issue(user=alice)
        self.check(Client().post("/api/v1/import.new", HTTP_X_AUTH_TOKEN=raw))

    def test_wrong_token(self, alice):
        AuthToken.objects.issue(user=alice)
        self.check(Api(alice, token="x" * 43).post("import.new"))

    def test_another_users_id(self, alice):
        bob = create_user("bob")
        _, raw = AuthToken.objects.issue(user=bob)
        self.check(Client().post("/api/v1/import.new", HTTP_X_USER_ID=str(alice.pk), HTTP_X_AUTH_TOKEN=raw))

    def test_expired_token(self, alice):
        token, raw = AuthToken.objects.issue(user=alice)
        AuthToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        self.check(Api(alice, token=raw).get("me"))

    def test_revoked_token(self, alice):
        token, raw = AuthToken.objects.issue(user=alice)
        token.revoke()
        self.check(Api(alice, token=raw).get("me"))

    def test_inactive_user(self, alice):
        client = Api(alice)
        alice.is_active = False
        alice.save()
        self.check(client.get("me"))

    def test_every_import_endpoint(self):
        for method, endpoint in [
            ("post", "import.new"),
            ("get", "import.status"),
            ("post", "import.addUsers"),
            ("post", "import.run"),
            ("post", "import.clear"),
            ("post", "import.preview"),
            ("get", "getCurrentImportOperation"),
            ("get", "getLatestImportOperations"),
            ("get", "importers.list"),
            ("get", "me"),
            ("post", "logout"),
        ]:
            self.check(getattr(Client(), method)(f"/api/v1/{endpoint}"))


def test_token_use_is_recorded_at_most_once_a_minute(alice):
    token, raw = AuthToken.objects.issue(user=alice)
    client = Api(alice, token=raw)
    client.get("me")
    first = AuthToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    client.get("me")
    assert AuthToken.objects.get(pk=token.pk).last_used_at == first


class TestLoginThrottling:
    def test_five_failures_for_one_user_block_it(self, alice):
        client = Client()
        for _ in range(5):
            assert client.post("/api/v1/login", {"user": "alice@example.com", "password": "x"}).status_code == 401
        response = client.post("/api/v1/login", {"user": "alice@example.com", "password": "correct horse"})
        assert response.status_code == 429  # the right password is refused too: no oracle
        body = response.json()
        assert body["success"] is False
        assert body["error"].startswith("Error, too many requests. Please slow down. You must wait ")
        assert body["error"].endswith(" seconds before trying this endpoint again. [error-too-many-requests]")
        wait = int(body["error"].split("You must wait ")[1].split(" ")[0])
        assert 0 < wait <= 300
        assert response["X-RateLimit-Limit"] == "5"
        assert response["X-RateLimit-Remaining"] == "0"
        assert int(response["X-RateLimit-Reset"]) > timezone.now().timestamp() * 1000
        # Another user from the same address is not blocked by alice's failures.
        create_user("carol", password="carol pw")
        assert client.post("/api/v1/login", {"user": "carol@example.com", "password": "carol pw"}).status_code == 200

    def test_thirty_failures_from_one_address_block_it(self, alice, settings):
        client = Client()
        for n in range(30):
            client.post("/api/v1/login", {"user": f"nobody{n}@example.com", "password": "x"})
        response = client.post("/api/v1/login", {"user": "alice@example.com", "password": "correct horse"})
        assert response.status_code == 429
        other = Client(REMOTE_ADDR="10.1.2.3")
        assert (
            other.post("/api/v1/login", {"user": "alice@example.com", "password": "correct horse"}).status_code == 200
        )

    def test_limits_are_settings(self, alice, settings):
        settings.IMPORTOPS = {**settings.IMPORTOPS, "LOGIN_MAX_FAILURES_PER_USER": 2}
        client = Client()
        for _ in range(2):
            client.post("/api/v1/login", {"user": "alice@example.com", "password": "x"})
        assert client.post("/api/v1/login", {"user": "alice@example.com", "password": "x"}).status_code == 429

    def test_trusted_proxy_header(self, alice, settings):
        settings.IMPORTOPS = {
            **settings.IMPORTOPS,
            "LOGIN_MAX_FAILURES_PER_ADDRESS": 1,
            "TRUSTED_PROXY_HEADER": "HTTP_X_FORWARDED_FOR",
        }
        client = Client()
        client.post("/api/v1/login", {"user": "nobody@example.com", "password": "x"}, HTTP_X_FORWARDED_FOR="1.1.1.1")
        body = {"user": "alice@example.com", "password": "x"}
        assert client.post("/api/v1/login", body, HTTP_X_FORWARDED_FOR="1.1.1.1").status_code == 429
        assert client.post("/api/v1/login", body, HTTP_X_FORWARDED_FOR="2.2.2.2").status_code == 401

    @pytest.mark.username_model
    def test_every_identifier_of_one_account_from_any_address_shares_one_counter(self, alice):
        """Five guesses spread over username, email, case and addresses block the account."""
        tries = [("alice", "1.1.1.1"), ("ALICE@example.com", "2.2.2.2"), ("Alice", "3.3.3.3")]
        tries += [("alice@EXAMPLE.com", "4.4.4.4"), ("ａｌｉｃｅ", "5.5.5.5")]  # full-width: NFKC
        for user, address in tries:
            response = Client(REMOTE_ADDR=address).post("/api/v1/login", {"user": user, "password": "x"})
            assert response.status_code == 401
        right = {"user": "alice", "password": "correct horse"}
        assert Client(REMOTE_ADDR="6.6.6.6").post("/api/v1/login", right).status_code == 429


def test_other_endpoints_rate_limited_for_users_without_run_import(alice, settings):
    settings.IMPORTOPS = {**settings.IMPORTOPS, "RATE_LIMIT": 3}
    client = Api(alice)
    statuses = [client.get("me").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_run_import_holders_are_not_rate_limited(api, settings):
    settings.IMPORTOPS = {**settings.IMPORTOPS, "RATE_LIMIT": 3}
    assert [api.get("me").status_code for _ in range(6)] == [200] * 6
