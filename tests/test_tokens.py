"""Token housekeeping: the command that mints one, the admin that lists and revokes them."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from importops.models import AuthToken
from importops.models.token import token_digest
from tests.conftest import Api, create_user

pytestmark = pytest.mark.django_db


def test_importops_token_prints_a_working_token_once(capsys):
    user = create_user("scripter")
    call_command("importops_token", user.get_username(), "--name", "nightly")
    out = capsys.readouterr().out
    raw = out.split("X-Auth-Token: ")[1].strip()
    assert f"X-User-Id: {user.pk}" in out
    token = AuthToken.objects.get(user=user)
    assert token.kind == "personal" and token.name == "nightly"
    assert token.digest == token_digest(raw) and raw not in token.digest
    assert Api(user, token=raw).get("me").status_code == 200


def test_importops_token_unknown_user():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("importops_token", "nobody-here")


@pytest.fixture
def staff_client(admin):
    client = Client()
    client.force_login(admin)
    return client


def test_token_list_shows_no_secret(staff_client):
    user = create_user("listed")
    token, raw = AuthToken.objects.issue(user=user, name="ci")
    page = staff_client.get(reverse("admin:importops_authtoken_changelist")).content.decode()
    assert "ci" in page and raw not in page and token.digest not in page


def test_revoke_action(staff_client):
    user = create_user("revoked")
    token, raw = AuthToken.objects.issue(user=user)
    staff_client.post(
        reverse("admin:importops_authtoken_changelist"), {"action": "revoke_selected", "_selected_action": [token.pk]}
    )
    assert AuthToken.objects.get(pk=token.pk).revoked_at is not None
    assert Api(user, token=raw).get("me").status_code == 401


def test_mint_page_shows_the_raw_token_once(staff_client):
    user = create_user("minted")
    url = reverse("admin:importops_authtoken_mint")
    response = staff_client.post(url, {"user": user.pk, "name": "deploy script"})
    assert response.status_code == 200
    raw = response.content.decode().split('id="raw-token" class="importops-token">')[1].split("<")[0]
    assert Api(user, token=raw).get("me").status_code == 200
    token = AuthToken.objects.get(user=user)
    assert raw not in staff_client.get(reverse("admin:importops_authtoken_change", args=[token.pk])).content.decode()


def test_prune_deletes_expired_and_revoked():
    user = create_user("pruned")
    live, _ = AuthToken.objects.issue(user=user)
    expired, _ = AuthToken.objects.issue(user=user)
    revoked, _ = AuthToken.objects.issue(user=user)
    AuthToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    revoked.revoke()
    call_command("importops_prune_tokens")
    assert list(AuthToken.objects.values_list("pk", flat=True)) == [live.pk]


def test_a_token_dies_when_its_users_password_changes_and_stays_dead(db):
    """As Django's sessions do: a stolen token is worthless once the password is reset."""
    user = create_user("dora", password="old password 1")
    api = Api(user)
    assert api.get("me").status_code == 200
    user.set_password("new password 2")
    user.save()
    assert api.get("me").status_code == 401
    token = AuthToken.objects.get(user=user)
    assert token.revoked_at is not None
    user.set_password("old password 1")  # changing it back does not revive the token
    user.save()
    assert api.get("me").status_code == 401
    resume = Api().client.post("/api/v1/login", {"resume": api.headers["HTTP_X_AUTH_TOKEN"]})
    assert resume.status_code == 401
    assert Api(user).get("me").status_code == 200  # a token issued after the change works
