"""The name a user had in Rocket.Chat is kept on the imported identity, and logs them in, even
when the user model has no username (the email user model leg)."""

import hashlib

import bcrypt
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from importops.models import ImportedIdentity
from tests.conftest import create_user

pytestmark = pytest.mark.django_db

PASSWORD = "the password of years"


def rocketchat_hash(password: str) -> str:
    """What Rocket.Chat stores: bcrypt over the hex SHA-256 of the password."""
    return bcrypt.hashpw(hashlib.sha256(password.encode()).hexdigest().encode(), bcrypt.gensalt(4)).decode()


@pytest.fixture
def ada(api, run_to_end):
    api.post("import.new")
    user = {
        "emails": ["ada@example.com"],
        "importIds": ["rc-ada"],
        "username": "ada.lovelace",
        "services": {"password": {"bcrypt": rocketchat_hash(PASSWORD)}},
    }
    assert api.post("import.addUsers", {"users": [user]}).status_code == 200
    run_to_end(api)
    return get_user_model()._default_manager.get(email="ada@example.com")


def login(body):
    return Client().post("/api/v1/login", body, content_type="application/json")


def test_the_rocketchat_username_is_kept_on_the_identity(ada):
    identity = ImportedIdentity.objects.get(user=ada)
    assert (identity.import_id, identity.username) == ("rc-ada", "ada.lovelace")
    assert "username" not in identity.data


@pytest.mark.parametrize(
    "body",
    [
        {"user": "ada.lovelace", "password": PASSWORD},
        {"username": "ada.lovelace", "password": PASSWORD},
        {"user": {"username": "ada.lovelace"}, "password": PASSWORD},
    ],
)
def test_login_with_the_rocketchat_username_and_old_password(ada, body):
    response = login(body)
    assert response.status_code == 200, response.content
    assert response.json()["data"]["userId"] == str(ada.pk)


def test_wrong_password_with_the_rocketchat_username_is_refused(ada):
    assert login({"user": "ada.lovelace", "password": "not it"}).status_code == 401


def test_a_username_two_users_were_known_by_logs_nobody_in(db):
    users = [create_user(name, password=PASSWORD) for name in ("first", "second")]
    ImportedIdentity.objects.bulk_create(
        [ImportedIdentity(import_id=f"id-{u.pk}", user=u, username="shared", importer_key="api") for u in users]
    )
    assert login({"user": "shared", "password": PASSWORD}).status_code == 401


@pytest.mark.email_model
def test_without_a_username_field_the_identity_is_case_insensitive(ada):
    assert login({"user": "Ada.Lovelace", "password": PASSWORD}).status_code == 200
