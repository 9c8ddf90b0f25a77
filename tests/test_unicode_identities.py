"""Identities cannot be spoofed by Unicode: usernames and emails are NFKC-normalized (as
Django's normalize_username) before every check, and compared case-insensitively the same
way on SQLite and PostgreSQL, non-ASCII letters included."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from importops.models import ImportRecord
from tests.conftest import HAS_USERNAME, Api, create_user

pytestmark = pytest.mark.django_db
User = get_user_model()


def import_one(api, run_to_end, **user):
    api.post("import.new")
    body = {"emails": ["fresh@example.com"], "importIds": ["x1"], **user}
    assert api.post("import.addUsers", {"users": [body]}).status_code == 200
    run_to_end(api)
    record = ImportRecord.objects.first()
    return record.errors[0]["message"] if record is not None and record.errors else None


@pytest.mark.username_model
@pytest.mark.parametrize("lookalike", ["ｒｏｏｔ", "ＲＯＯＴ", "Root"])
def test_an_import_cannot_create_a_compatibility_lookalike_of_an_existing_username(api, run_to_end, lookalike):
    assert import_one(api, run_to_end, username=lookalike) == "importer-user-username-in-use"
    assert User._default_manager.count() == 1


@pytest.mark.username_model
def test_non_ascii_usernames_compare_case_insensitively_on_every_database(api, run_to_end):
    create_user("Émile")  # SQLite's LOWER() leaves "É" alone
    assert import_one(api, run_to_end, username="émile") == "importer-user-username-in-use"


def test_non_ascii_emails_compare_case_insensitively_on_every_database(api, run_to_end):
    create_user("ada", **{User.get_email_field_name(): "ada@ÉCOLE.example"})
    assert import_one(api, run_to_end, emails=["ada@école.example"]) == "importer-user-email-in-use"


def test_a_full_width_email_is_the_same_identity(api, run_to_end):
    create_user("ada")
    assert import_one(api, run_to_end, emails=["ａｄａ@example.com"]) == "importer-user-email-in-use"


def test_imported_names_are_stored_normalized(api, run_to_end):
    user = {"emails": ["ｎｅｗ@example.com"]}
    if HAS_USERNAME:
        user["username"] = "ｎｅｗｂｉｅ"
    assert import_one(api, run_to_end, **user) is None
    created = User._default_manager.get(**{User.get_email_field_name(): "new@example.com"})  # not "ｎｅｗ@..."
    if HAS_USERNAME:
        assert created.get_username() == "newbie"


def test_login_by_email_folds_non_ascii_case_on_every_database(db):
    create_user("ada", password="pw-ada-1", **{User.get_email_field_name(): "ada@école.example"})
    response = Api().client.post("/api/v1/login", {"email": "ADA@ÉCOLE.EXAMPLE", "password": "pw-ada-1"})
    assert response.status_code == 200, response.content
