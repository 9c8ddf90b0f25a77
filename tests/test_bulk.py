"""The set-based writes of the batch path (``importops.bulk``) and the user adapter's fast
email check: the same rows, defaults and verdicts as Django's own way, on every database."""

from __future__ import annotations

import importlib
from datetime import UTC
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MinLengthValidator, RegexValidator, validate_email
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

import importops.bulk
from importops.bulk import ENCODE_JSON, JSON_TEXT, PLAIN_FIELDS, _with_defaults, insert_records, insert_rows
from importops.fieldchecks import COMMON_EMAIL, predicate
from importops.models import ImportChange, ImportOperation
from importops.services import operations
from importops.users import UserAdapter

pytestmark = pytest.mark.django_db


def test_insert_records_fills_every_field_the_values_leave_out():
    User = get_user_model()
    email = User.get_email_field_name()
    before = timezone.now()
    pks = insert_records(
        User,
        [
            {email: "a@example.com", "password": "!x", **username("a")},
            {email: "b@example.com", "password": "!y", **username("b"), "is_active": False},
        ],
    )
    after = timezone.now()
    users = {user.pk: user for user in User.objects.filter(pk__in=pks)}
    assert [getattr(users[pk], email) for pk in pks] == ["a@example.com", "b@example.com"]  # keys in row order
    first, second = users[pks[0]], users[pks[1]]
    assert (first.is_active, second.is_active) == (True, False)  # the model's default, and the value given
    assert not first.is_staff and not first.is_superuser and first.last_login is None
    joined = first.date_joined if hasattr(first, "date_joined") else None
    if joined is not None:  # a callable default, called for the row
        assert before <= joined <= after
    assert first.check_password("x") is False and first.password == "!x"


def username(name: str) -> dict[str, str]:
    adapter = UserAdapter()
    return {adapter.username_field: name} if adapter.username_field else {}


def test_insert_rows_returns_keys_in_row_order_and_keeps_json_and_constants():
    operation = operations.operation_create(user=None, importer_key="api", importer_name="api")
    User = get_user_model()
    users = [
        User.objects.create(**{User.get_email_field_name(): f"u{n}@example.com", **username(f"u{n}")}) for n in range(3)
    ]
    now = timezone.now()
    changes = [{"email": {"old": None, "new": "ü\\\"' x"}}, {"nested": [1, None, True, "x"]}, {}]
    pks = insert_rows(
        ImportChange,
        ["user_id", "action", "changes", "email"],
        [(user.pk, "created", change, f"e{n}") for n, (user, change) in enumerate(zip(users, changes, strict=True))],
        constants={"operation_id": operation.pk, "created_at": now, "undo": "", "linked": []},
        returning="id",
    )
    rows = {row.pk: row for row in ImportChange.objects.filter(pk__in=pks)}
    assert [rows[pk].email for pk in pks] == ["e0", "e1", "e2"]
    assert [rows[pk].changes for pk in pks] == changes
    assert {rows[pk].operation_id for pk in pks} == {operation.pk}
    assert all(rows[pk].created_at == now and rows[pk].linked == [] for pk in pks)


def test_a_field_outside_the_plain_kinds_is_converted_by_the_field(monkeypatch):
    """A host's own kind of field gets its own ``get_db_prep_save``, as with bulk_create."""
    field = Group._meta.get_field("name")
    monkeypatch.setattr("importops.bulk.PLAIN_FIELDS", PLAIN_FIELDS - {models.CharField})
    monkeypatch.setattr(field, "get_db_prep_save", lambda value, connection: value.upper())
    insert_rows(Group, ["name"], [("quiet",)])
    assert list(Group.objects.values_list("name", flat=True)) == ["QUIET"]


def test_insert_writes_nothing_for_no_rows():
    assert insert_rows(Group, ["name"], [], returning="id") == []
    assert insert_records(Group, []) == []
    assert not Group.objects.exists()


EMAIL_PARTS = st.text(st.sampled_from("aZ09.-_+'@ü[]:\"é!#`|~"), min_size=1, max_size=12)


@settings(max_examples=400, deadline=None)
@given(st.emails() | st.builds(lambda a, b: f"{a}@{b}", EMAIL_PARTS, EMAIL_PARTS) | EMAIL_PARTS)
def test_the_fast_email_check_accepts_only_what_django_accepts(email):
    """COMMON_EMAIL is a shortcut: whatever it matches, validate_email accepts; and the
    adapter's verdict is Django's either way (the fast path falls back to it)."""
    try:
        validate_email(email)
        django_accepts = True
    except ValidationError:
        django_accepts = False
    if COMMON_EMAIL.match(email) and len(email) <= 320:
        assert django_accepts, email
    field = get_user_model()._meta.get_field(get_user_model().get_email_field_name())
    if len(email) <= (field.max_length or 320):
        assert UserAdapter().email_is_valid(email) is django_accepts, email


def test_the_fast_email_check_is_used_for_common_addresses():
    assert COMMON_EMAIL.match("First.Last+tag@sub.example.co.uk")
    assert not COMMON_EMAIL.match("a@localhost")  # valid, but through validate_email
    assert UserAdapter().email_is_valid("a@localhost")


def test_a_generated_field_is_left_to_the_database(monkeypatch):
    """Like bulk_create, the insert never writes a GeneratedField (the database refuses it)."""

    def filled():
        columns, _, constants = _with_defaults(ImportChange, ["action"], {"undo": ""})
        return {*columns, *constants}

    assert "password_hashes" in filled()
    monkeypatch.setattr(ImportChange._meta.get_field("password_hashes"), "generated", True, raising=False)
    assert "password_hashes" not in filled()


def test_records_name_relations_by_name_or_attname_and_unknown_names_are_refused():
    operation = operations.operation_create(user=None, importer_key="api", importer_name="api")
    User = get_user_model()
    user = User.objects.create(**{User.get_email_field_name(): "r@example.com", **username("r")})
    now = timezone.now()
    pks = insert_records(
        ImportChange,
        [
            {"operation": operation, "user": user, "action": "created", "created_at": now},
            {"operation_id": operation.pk, "user_id": user.pk, "action": "updated", "created_at": now},
        ],
    )
    rows = list(ImportChange.objects.filter(pk__in=pks).order_by("pk").values_list("operation_id", "user_id", "action"))
    assert rows == [(operation.pk, user.pk, "created"), (operation.pk, user.pk, "updated")]
    with pytest.raises(TypeError, match="no field to insert named nickname"):
        insert_records(ImportChange, [{"operation": operation, "action": "created", "nickname": "x"}])


def test_a_clash_between_rows_is_djangos_integrity_error():
    """The batch path retries on django.db.IntegrityError: a unique clash in the rows raises
    it, whichever way they go in (COPY on PostgreSQL)."""
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(Group, ["name"], [("twin",), ("twin",)])
    assert not Group.objects.filter(name="twin").exists()


def test_keys_given_by_a_default_are_returned_as_given():
    """A primary key with a Python default (an operation's id) is given, not drawn."""
    now = timezone.now()
    pks = insert_rows(
        ImportOperation,
        ["type", "importer_key", "ts", "valid"],
        [("api", "api", now, False), ("csv", "csv", now, False)],  # one valid operation at a time
        returning="id",
    )
    assert len(set(pks)) == 2
    assert dict(ImportOperation.objects.filter(pk__in=pks).values_list("id", "importer_key")) == dict(
        zip(pks, ["api", "csv"], strict=True)
    )


def test_a_key_the_database_always_generates_is_left_to_it(monkeypatch):
    """A primary key declared GENERATED ALWAYS refuses a value drawn from its sequence: the
    rows go in by bulk_create, which leaves the key to the database."""
    monkeypatch.setattr("importops.bulk._SEQUENCES", {})
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute('ALTER TABLE "auth_group" ALTER COLUMN "id" SET GENERATED ALWAYS')
    pks = insert_rows(Group, ["name"], [("first",), ("second",)], returning="id")
    assert [Group.objects.get(pk=pk).name for pk in pks] == ["first", "second"]
    if connection.vendor == "postgresql":
        assert importops.bulk._SEQUENCES == {("default", "auth_group"): None}
        monkeypatch.setattr("importops.bulk._SEQUENCES", {})
        with connection.cursor() as cursor:
            cursor.execute('ALTER TABLE "auth_group" ALTER COLUMN "id" SET GENERATED BY DEFAULT')
        pks = insert_rows(Group, ["name"], [("third",)], returning="id")
        assert importops.bulk._SEQUENCES[("default", "auth_group")]  # drawn from its sequence now
        assert Group.objects.get(pk=pks[0]).name == "third"


def test_a_created_users_values_read_as_changes_from_nothing():
    """A created user's change stores its values; field_changes() reads them as an update's
    old/new pairs, so the report and the undo read every action alike."""
    created = ImportChange(action="created", changes={"email": "a@example.com", "groups": ["user"]})
    assert created.field_changes() == {
        "email": {"old": None, "new": "a@example.com"},
        "groups": {"old": [], "new": ["user"]},
    }
    updated = ImportChange(action="updated", changes={"is_active": {"old": True, "new": False}})
    assert updated.field_changes() == updated.changes


def test_the_migration_to_compact_created_changes_goes_both_ways():
    compact = importlib.import_module("importops.migrations.0006_created_changes_compact")
    operation = operations.operation_create(user=None, importer_key="api", importer_name="api")
    now = timezone.now()
    old_form = {"email": {"old": None, "new": "a@example.com"}, "groups": {"old": [], "new": ["user"]}}
    update = {"is_active": {"old": True, "new": False}}
    made = ImportChange.objects.bulk_create(
        [
            ImportChange(operation=operation, action="created", changes=old_form, created_at=now),
            ImportChange(operation=operation, action="updated", changes=update, created_at=now),
        ]
    )
    editor = SimpleNamespace(connection=connection)
    compact.compact(django_apps, editor)
    stored = dict(ImportChange.objects.filter(pk__in=[c.pk for c in made]).values_list("action", "changes"))
    assert stored == {"created": {"email": "a@example.com", "groups": ["user"]}, "updated": update}
    compact.expand(django_apps, editor)
    stored = dict(ImportChange.objects.filter(pk__in=[c.pk for c in made]).values_list("action", "changes"))
    assert stored == {"created": old_form, "updated": update}


USERNAME_VALIDATORS = [
    *get_user_model()._meta.get_field(UserAdapter().username_field or get_user_model().USERNAME_FIELD).validators,
    RegexValidator(r"^adm", inverse_match=True),
    MaxLengthValidator(12),
    MinLengthValidator(2),  # no shortcut: called as it is
]


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("aZ09.-_+@ ü!#é\nadm"), max_size=160))
def test_validators_as_predicates_give_the_validators_verdicts(value):
    for validator in USERNAME_VALIDATORS:
        try:
            validator(value)
            accepted = True
        except ValidationError:
            accepted = False
        assert predicate(validator)(value) is accepted, (validator, value)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text() | st.datetimes(timezones=st.just(UTC)) | st.uuids(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=8,
    )
)
def test_the_reused_json_encoder_writes_what_the_row_encoder_writes(value):
    assert ENCODE_JSON(value) == JSON_TEXT.encode(value)
