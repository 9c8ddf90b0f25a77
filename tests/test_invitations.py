"""Invitations: password-reset emails to imported users without a usable password."""

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from importops.models import ImportOperation
from tests.conftest import HAS_USERNAME, user_payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(api, run_to_end):
    api.post("import.new")
    api.post(
        "import.addUsers",
        {"users": [user_payload(1), user_payload(2, password="has one"), user_payload(3, deleted=True)]},
    )
    run_to_end(api)
    return ImportOperation.objects.get(valid=True)


def test_command_invites_users_without_a_password(imported, capsys):
    call_command("importops_invite", "--domain", "chat.example.com")
    assert "Sent 1 invitation(s)" in capsys.readouterr().out
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["u1@example.com"]
    assert "https://chat.example.com/accounts/reset/" in message.body


def test_the_link_lets_the_user_choose_a_password(imported):
    call_command("importops_invite", "--domain", "testserver", "--http")
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line).strip()
    client = Client()
    page = client.get(link.replace("http://testserver", ""), follow=True)
    assert page.status_code == 200
    response = client.post(
        page.redirect_chain[-1][0], {"new_password1": "Chosen-pw-42!", "new_password2": "Chosen-pw-42!"}
    )
    assert response.status_code == 302
    login = Client().post("/api/v1/login", {"user": "u1@example.com", "password": "Chosen-pw-42!"})
    assert login.status_code == 200
    # The flow ends on a working login page (main: TemplateDoesNotExist, a 500).
    done = client.get(response["Location"])
    assert done.status_code == 200 and reverse("login").encode() in done.content
    page = client.get(reverse("login"))
    assert page.status_code == 200
    username = "u1" if HAS_USERNAME else "u1@example.com"
    logged_in = client.post(reverse("login"), {"username": username, "password": "Chosen-pw-42!"}, follow=True)
    assert logged_in.status_code == 200
    assert f"You are logged in as <strong>{username}</strong>" in logged_in.content.decode()


def test_dry_run(imported, capsys):
    call_command("importops_invite", "--domain", "x.example", "--dry-run")
    assert "Would invite 1 user(s)" in capsys.readouterr().out
    assert mail.outbox == []


def test_admin_action(imported, admin):
    client = Client()
    client.force_login(admin)
    response = client.post(
        reverse("admin:importops_importoperation_changelist"),
        {"action": "invite_selected", "_selected_action": [imported.pk]},
        follow=True,
    )
    assert "Sent 1 invitation(s)." in response.content.decode()
    assert len(mail.outbox) == 1
