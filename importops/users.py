"""The user adapter: maps staged users onto the host project's user model, in bulk.

Replace it with ``IMPORTOPS["USER_ADAPTER"] = "myproject.imports.MyAdapter"`` (a subclass)
to map extra fields. It works for Django's ``User`` and for custom user models, including
ones whose ``USERNAME_FIELD`` is the email and that have no username at all.
"""

from __future__ import annotations

import hashlib
import operator
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property, reduce
from typing import Any, NamedTuple, cast

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, make_password
from django.contrib.auth.models import Group
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.validators import validate_email
from django.db import models
from django.db.models import Q

from importops.bulk import InArray, insert_records, insert_rows
from importops.errors import UserError
from importops.fieldchecks import COMMON_EMAIL, predicate
from importops.folding import Fold, fold, normalize_identity
from importops.staged import REDACTED, StagedUser, error_entry
from importops.validation import first_non_blank, non_blank

BCRYPT_HASH = re.compile(r"^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$")
NOT_USERNAME_CHARS = re.compile(r"[^\w.@+-]")


class Membership(NamedTuple):
    """The user-group through table and its two columns."""

    model: Any
    user_column: str
    group_column: str


class UserAdapter:
    """Staged user → row of ``AUTH_USER_MODEL`` (plus group memberships)."""

    def __init__(self) -> None:
        self.model: type[AbstractBaseUser] = get_user_model()
        self._fields: dict[str, models.Field[Any, Any] | None] = {}
        self.email_field: str = self.model.get_email_field_name()
        self.username_field: str | None = self._find_username_field()

    # -- model facts -------------------------------------------------------------------

    def _find_username_field(self) -> str | None:
        # Every user model defines USERNAME_FIELD; AbstractBaseUser leaves it to subclasses.
        username_field: str = self.model.USERNAME_FIELD  # type: ignore[attr-defined]
        if username_field != self.email_field:
            return username_field
        return "username" if self._field("username") is not None else None

    def _field(self, name: str) -> models.Field[Any, Any] | None:
        """The model's field of that name; None when there is none (or only a reverse relation)."""
        if name not in self._fields:
            try:
                found = self.model._meta.get_field(name)
            except FieldDoesNotExist:
                found = None
            self._fields[name] = found if isinstance(found, models.Field) else None
        return self._fields[name]

    @cached_property
    def _has_is_active(self) -> bool:
        return self._field("is_active") is not None

    @cached_property
    def needs_username(self) -> bool:
        """True when users of this model must have a username (so one is derived if absent)."""
        field_ = self._field(self.username_field) if self.username_field else None
        return field_ is not None and not field_.blank

    @property
    def groups_relation(self) -> models.ManyToManyField[Any, Any] | None:
        """The model's many-to-many to Group (PermissionsMixin's ``groups``), if it has one."""
        field_ = self._field("groups")
        return field_ if isinstance(field_, models.ManyToManyField) else None

    @cached_property
    def has_groups(self) -> bool:
        return self.groups_relation is not None

    # -- pure checks (no database) ------------------------------------------------------

    def read(self, record_id: int, data: dict[str, Any], secret: dict[str, Any] | None) -> StagedUser:
        """Turn a staged record's data into a StagedUser."""
        secret = secret or {}
        # NFKC first, as Django's normalize_username: the account gets the normalized name,
        # and every check compares normalized names.
        return StagedUser(
            record_id=record_id,
            email=normalize_identity(first_non_blank(data.get("emails"))).strip(),
            username=normalize_identity(data.get("username") or "").strip(),
            name=(data.get("name") or "").strip(),
            active=not data.get("deleted", False),
            roles=list(data.get("roles") or []),
            import_ids=non_blank(data.get("importIds")),
            password=secret.get("password"),
            bcrypt=secret.get("bcrypt"),
            data=data,
        )

    def check(self, user: StagedUser) -> dict[str, Any] | None:
        """Checks that need no database: the first error entry, or None."""
        if not user.email and not user.username:
            return error_entry(UserError.MISSING_EMAIL_AND_USERNAME)
        if user.email:
            if not self.email_is_valid(user.email):
                return error_entry(UserError.INVALID_EMAIL, "emails", user.email)
        elif self.username_field is None:
            return error_entry(UserError.INVALID_EMAIL, "emails", "")
        if user.username and self.username_field and not self.username_is_valid(user.username):
            return error_entry(UserError.INVALID_USERNAME, "username", user.username)
        if not user.username and self.needs_username and not self.derive_usernames(user.email):
            return error_entry(UserError.INVALID_USERNAME, "username", "")
        if user.bcrypt is not None and not BCRYPT_HASH.match(user.bcrypt):
            return error_entry(UserError.INVALID_PASSWORD_HASH, "services.password.bcrypt", REDACTED)
        return None

    def email_is_valid(self, email: str) -> bool:
        field_ = self._field(self.email_field)
        if field_ is not None and field_.max_length and len(email) > field_.max_length:
            return False
        if len(email) <= 320 and COMMON_EMAIL.match(email):
            return True
        try:
            validate_email(email)
        except ValidationError:
            return False
        return True

    def username_is_valid(self, username: str) -> bool:
        """What the username field's validators say (they include its max_length)."""
        return all(passes(username) for passes in self._username_checks)

    @cached_property
    def _username_checks(self) -> list[Callable[[str], bool]]:
        """The username field's validators as predicates. Django's regex and maximum-length
        validators are run directly (their call raises and builds an error on every miss,
        and reaches the regex through a lazy object); any other is called as it is."""
        field_ = self._field(self.username_field) if self.username_field else None
        return [predicate(validator) for validator in (field_.validators if field_ is not None else [])]

    def derive_usernames(self, email: str) -> list[str]:
        """Usernames to try, in order, for a user given none: the email's local part, then
        the local part with a short suffix from the email (so a@x and a@y both get one)."""
        field_ = self._field(self.username_field) if self.username_field else None
        limit = (field_.max_length if field_ is not None else None) or 150
        local = NOT_USERNAME_CHARS.sub("_", email.partition("@")[0])[: limit - 7]
        if not local:
            return []
        suffix = hashlib.sha256(email.lower().encode()).hexdigest()[:6]
        return [name for name in (local, f"{local}.{suffix}") if self.username_is_valid(name)]

    # -- lookups (one query per kind) ---------------------------------------------------

    def taken(self, *, emails: Iterable[str], usernames: Iterable[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        """({case-folded email: pk}, {case-folded username: pk}) of existing users, in one query
        (the user table usually has no case-folded index: scan it once, not twice)."""
        email_keys = list({fold(e) for e in emails if e})
        username_keys = list({fold(u) for u in usernames if u}) if self.username_field else []
        if not email_keys and not username_keys:
            return {}, {}
        annotations = {"_email": Fold(self.email_field)}
        matches = [InArray("_email", email_keys)] if email_keys else []
        if self.username_field:
            annotations["_username"] = Fold(self.username_field)
            if username_keys:
                matches.append(InArray("_username", username_keys))
        rows = (
            self.model._default_manager.annotate(**annotations)
            .filter(reduce(operator.or_, (Q(match) for match in matches)))
            .values_list("pk", *annotations)
        )
        wanted_emails, wanted_usernames = set(email_keys), set(username_keys)
        by_email: dict[str, Any] = {}
        by_username: dict[str, Any] = {}
        for pk, email, *username in rows:
            if email in wanted_emails:
                by_email[email] = pk
            if username and username[0] in wanted_usernames:
                by_username[username[0]] = pk
        return by_email, by_username

    # -- writing -------------------------------------------------------------------------

    def encode_password(self, user: StagedUser) -> str:
        """The password column: hashed plaintext, a Rocket.Chat bcrypt hash kept, or unusable."""
        if user.password:
            return make_password(user.password)
        if user.bcrypt:
            return f"bcrypt_sha256${user.bcrypt}"
        # What make_password(None) makes (a "!" prefix and 40 random characters), at a
        # fraction of its cost: this runs once per imported user.
        return UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(20)

    def values(self, user: StagedUser) -> dict[str, Any]:
        """The model fields this adapter maps from a staged user (not username or password).

        A new user gets them; ``update`` sets them on an existing one (the email only when
        the match was not by email). Override to map extra fields (keep it free of queries:
        it runs once per user); never return ``is_staff``, ``is_superuser`` or ``password``.
        """
        values: dict[str, Any] = {self.email_field: user.email}
        if self._has_is_active:
            values["is_active"] = user.active
        values.update(self._name_fields(user.name))
        return values

    def _name_fields(self, name: str) -> dict[str, str]:
        if not name:
            return {}
        whole, parts = self._name_columns
        if whole is not None:
            return {whole[0]: name[: whole[1]]}
        first, _, last = name.partition(" ")
        return {key: value[:limit] for (key, limit), value in zip(parts, (first, last.strip()), strict=False) if key}

    @cached_property
    def _name_columns(self) -> tuple[tuple[str, int | None] | None, list[tuple[str, int | None]]]:
        """Where a name goes: one column (``name``, ``full_name``), or first and last name
        columns (a missing one as ""); with each column's length."""
        for candidate in ("name", "full_name"):
            field_ = self._field(candidate)
            if field_ is not None and not field_.is_relation:
                return (candidate, field_.max_length or None), []
        parts = []
        for key in ("first_name", "last_name"):
            field_ = self._field(key)
            parts.append((key, field_.max_length or None) if field_ is not None else ("", None))
        return None, parts

    def create(self, users: Sequence[tuple[StagedUser, dict[str, Any]]]) -> list[Any]:
        """Insert new users in one statement and give them their roles' groups; their primary
        keys, in order. Each comes with its field values: ``values()``, the username and the
        password column. No model instance is built and no ``save()`` runs: fields the values
        leave out get their defaults, as with ``bulk_create``."""
        pks = insert_records(self.model, [values for _, values in users])
        self.change_groups(
            add=[
                (pk, role) for (staged, _), pk in zip(users, pks, strict=True) for role in dict.fromkeys(staged.roles)
            ],
            remove=[],
        )
        return pks

    # -- existing users (the update and skip policies) ----------------------------------

    def current(self, pks: Iterable[Any], fields: Iterable[str], *, lock: bool = False) -> dict[Any, dict[str, Any]]:
        """{pk: {field: value}} of existing users, in one query (``lock``: FOR UPDATE)."""
        pks = list(pks)
        if not pks:
            return {}
        rows = self.model._default_manager.filter(InArray("pk", pks))
        if lock:
            # In key order, by every caller (a batch, an undo): no two of them deadlock.
            rows = rows.select_for_update().order_by("pk")
        return {row["pk"]: row for row in rows.values("pk", *fields)}

    def protected(self, pks: Iterable[Any]) -> set[Any]:
        """Users an import never changes: staff, superusers, and holders of any importops
        permission — directly, through a group, or on an operation (django-guardian, the
        permission an operation's creator gets). One query, two with guardian."""
        pks = list(pks)
        if not pks:
            return set()
        who = [Q(**{name: True}) for name in ("is_staff", "is_superuser") if self._field(name) is not None]
        who += [
            Q(**{f"{relation}__content_type__app_label": "importops"})
            for relation in ("user_permissions", "groups__permissions")
            if self._field(relation.partition("__")[0]) is not None
        ]
        found: set[Any] = set()
        if who:
            rows = self.model._default_manager.filter(InArray("pk", pks)).filter(reduce(operator.or_, who))
            found |= set(rows.values_list("pk", flat=True))
        if apps.is_installed("guardian"):
            object_permissions = apps.get_model("guardian", "UserObjectPermission")._default_manager
            held = object_permissions.filter(InArray("user_id", pks), content_type__app_label="importops")
            found |= set(held.values_list("user_id", flat=True))
        return found

    def importable_groups(self, pks: Iterable[Any], names: Iterable[str]) -> dict[Any, set[str]]:
        """{pk: names of the groups among ``names`` the user belongs to}, in one query."""
        pks, names = list(pks), list(names)
        if not self.has_groups or not pks or not names:
            return {}
        through = self._through()
        group_name = through.group_column.removesuffix("_id") + "__name"
        rows = through.model.objects.filter(InArray(through.user_column, pks), **{f"{group_name}__in": names})
        found: dict[Any, set[str]] = {}
        for pk, name in rows.values_list(through.user_column, group_name):
            found.setdefault(pk, set()).add(name)
        return found

    def save_values(self, rows: Sequence[tuple[Any, dict[str, Any]]]) -> None:
        """Write ``{field: value}`` onto existing users (one bulk UPDATE per set of fields)."""
        by_fields: dict[tuple[str, ...], list[AbstractBaseUser]] = {}
        for pk, values in rows:
            if values:
                instance = self.model(**values)
                instance.pk = pk
                by_fields.setdefault(tuple(sorted(values)), []).append(instance)
        for fields, instances in by_fields.items():
            self.model._default_manager.bulk_update(instances, list(fields))

    def change_groups(self, *, add: Sequence[tuple[Any, str]], remove: Sequence[tuple[Any, str]]) -> None:
        """Add and remove (user pk, group name) memberships; groups are created if missing."""
        if not self.has_groups or not (add or remove):
            return
        names = {name for _, name in [*add, *remove]}
        groups = dict(Group.objects.filter(name__in=names).values_list("name", "pk"))
        missing = {name for _, name in add} - groups.keys()
        if missing:
            Group.objects.bulk_create([Group(name=name) for name in missing], ignore_conflicts=True)
            groups = dict(Group.objects.filter(name__in=names).values_list("name", "pk"))
        through = self._through()
        if remove:
            pairs = [Q(**{through.user_column: pk, through.group_column: groups[name]}) for pk, name in remove]
            through.model.objects.filter(reduce(operator.or_, pairs)).delete()
        insert_rows(
            through.model, [through.user_column, through.group_column], [(pk, groups[name]) for pk, name in add]
        )

    def _through(self) -> Membership:
        """Called only when ``has_groups``."""
        relation = cast("models.ManyToManyField[Any, Any]", self.groups_relation)
        return Membership(
            relation.remote_field.through,
            f"{relation.m2m_field_name()}_id",
            f"{relation.m2m_reverse_field_name()}_id",
        )
