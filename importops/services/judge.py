"""Every check a run makes on a batch of staged users: one query per kind of check.

Shared by the run (inside the batch transaction) and by ``import.preview`` (which writes
nothing). The duplicate rule is decided by staging order alone — a user is a duplicate
when an earlier staged user of the same operation (lower record id) has the same email,
username or importId — so the verdict does not depend on how batches are split between
workers or in which order they commit.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import Any, NamedTuple, Protocol

from django.db.models import Q
from django.db.models.functions import Lower

from importops.bulk import InArray, index_probes
from importops.errors import UserError
from importops.models import ImportChange, ImportedIdentity, ImportRecord
from importops.models.operation import ExistingUsers
from importops.models.record import DataType
from importops.staged import StagedUser, error_entry
from importops.users import UserAdapter

Key = tuple[str, str]
KEY_FIELDS = {"e": "emails", "u": "username", "i": "importIds"}
KEY_COLUMNS = {"e": "email", "u": "username", "i": "import_id"}


class StagedRow(Protocol):
    """What judge reads of a staged record (a model instance or a named values_list row)."""

    pk: int
    data: dict[str, Any]
    secret: dict[str, Any] | None
    email: str
    username: str
    import_id: str


STAGED_ROW_FIELDS = ("pk", "data", "secret", "email", "username", "import_id")


@dataclass(slots=True)
class Verdict:
    """What a run does with one staged user: create it (``username``), fail it (``error``),
    or, under the skip and update policies, act on the existing user it ``match``es."""

    user: StagedUser
    username: str | None = None
    error: dict[str, Any] | None = None
    match: Any = None
    matched_by: str = ""
    link: list[str] = field(default_factory=list)
    outcome: str = ""
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    add_groups: list[str] = field(default_factory=list)
    password_hashes: dict[str, str] | None = None


@dataclass
class JudgeState:
    """What one judged batch tells the next (used by the preview, which judges in chunks)."""

    claimed_usernames: set[str] = field(default_factory=set)
    matched: set[Any] = field(default_factory=set)


def _check(adapter: UserAdapter, record: StagedRow) -> tuple[StagedUser, dict[str, Any] | None]:
    user = adapter.read(record.pk, record.data, record.secret)
    return user, adapter.check(user)


def _keys(record: StagedRow, user: StagedUser) -> list[Key]:
    keys: list[Key] = []
    if record.email:
        keys.append(("e", record.email))
    if record.username:
        keys.append(("u", record.username))
    keys.extend(("i", key) for key in dict.fromkeys(user.import_keys))
    return keys


def judge(
    *,
    operation_id: str,
    records: Sequence[StagedRow],
    adapter: UserAdapter,
    state: JudgeState | None = None,
    checked: dict[int, tuple[StagedUser, dict[str, Any] | None]] | None = None,
    policy: str = ExistingUsers.FAIL,
) -> list[Verdict]:
    """A verdict per record (in id order): the username to create it with, an error entry,
    or (``policy`` skip or update) the existing user it matches — by importId, then email,
    then username. What an update would change is decided by ``services.existing``.

    ``checked`` holds the adapter's database-free checks when the caller already ran them.
    """
    state = state or JudgeState()
    records = sorted(records, key=lambda r: r.pk)
    checked = checked or {}
    pure = [checked.get(r.pk) or _check(adapter, r) for r in records]
    users = [user for user, _ in pure]
    verdicts = [Verdict(user=user, error=error) for user, error in pure]
    keys = [_keys(r, u) for r, u in zip(records, users, strict=True)]

    derived = {
        v.user.record_id: adapter.derive_usernames(v.user.email)
        for v in verdicts
        if v.error is None and not v.user.username and adapter.needs_username
    }
    derived_names = {name.lower() for names in derived.values() for name in names}
    with index_probes():
        first_seen = _earlier_staged(operation_id, records, keys)
        identities = _identities({k for ks in keys for kind, k in ks if kind == "i"})
        taken_emails, taken_usernames = adapter.taken(
            emails=[u.email for u in users if u.email],
            usernames=[u.username for u in users if u.username] + list(derived_names),
        )
        owners = {owner for _, owner in identities.values()} if policy != ExistingUsers.FAIL else set()
        ours = _users_of_operation(
            operation_id,
            {*taken_emails.values(), *taken_usernames.values(), *owners},
            changes=policy != ExistingUsers.FAIL,
        )
        staged_usernames = _staged_usernames(operation_id, derived_names)
    found = Found(identities, taken_emails, taken_usernames, ours)

    for record, verdict, record_keys in zip(records, verdicts, keys, strict=True):
        user = verdict.user
        if verdict.error is None:
            verdict.error = _duplicate(record.pk, record_keys, first_seen)
        if verdict.error is None and policy != ExistingUsers.FAIL:
            verdict.error = _match(verdict, record_keys, operation_id, found)
            if verdict.error is None and verdict.match is not None:
                verdict.error = _conflict(verdict, policy, taken_emails, state)
        elif verdict.error is None:
            verdict.error = _taken(user, record_keys, operation_id, found)
        for key in record_keys:
            first_seen.setdefault(key, record.pk)
        if verdict.error is not None or verdict.match is not None:
            continue
        if user.username or not adapter.needs_username:
            verdict.username = user.username or None
        else:
            free = [
                name
                for name in derived[user.record_id]
                if name.lower() not in taken_usernames
                and name.lower() not in staged_usernames
                and name.lower() not in state.claimed_usernames
            ]
            if not free:
                verdict.error = error_entry(UserError.USERNAME_IN_USE, "username", derived[user.record_id][0])
                continue
            verdict.username = free[0]
        if verdict.username:
            state.claimed_usernames.add(verdict.username.lower())
    return verdicts


def _earlier_staged(operation_id: str, records: Sequence[StagedRow], keys: list[list[Key]]) -> dict[Key, int]:
    """{key: smallest record id} over staged users of the operation outside this batch."""
    wanted: dict[str, set[str]] = {"e": set(), "u": set(), "i": set()}
    for record_keys in keys:
        for kind, value in record_keys:
            wanted[kind].add(value)
    if not records or not any(wanted.values()):
        return {}
    batch_ids = {r.pk for r in records}
    matches = [InArray(column, wanted[kind]) for kind, column in KEY_COLUMNS.items() if wanted[kind]]
    rows = (
        ImportRecord.objects.filter(
            operation_id=operation_id, data_type=DataType.USER, skipped=False, id__lt=max(batch_ids)
        )
        .filter(reduce(operator.or_, (Q(match) for match in matches)))
        .values_list("id", "email", "username", "import_id")
    )
    first: dict[Key, int] = {}
    for pk, email, username, import_id in rows:
        if pk in batch_ids:
            continue
        for kind, value in (("e", email), ("u", username), ("i", import_id)):
            if value and value in wanted[kind] and pk < first.get((kind, value), pk + 1):
                first[(kind, value)] = pk
    return first


def _identities(import_keys: set[str]) -> dict[str, tuple[str | None, Any]]:
    """{case-folded importId: (operation id, user pk)} for importIds that already belong to a user."""
    if not import_keys:
        return {}
    rows = (
        ImportedIdentity.objects.annotate(key=Lower("import_id"))
        .filter(InArray("key", import_keys))
        .values_list("key", "operation_id", "user_id")
    )
    return {key: (operation_id, user_id) for key, operation_id, user_id in rows}


def _users_of_operation(operation_id: str, user_ids: set[Any], *, changes: bool) -> set[Any]:
    """Which of these users this operation created (a clash with them is a duplicate) or,
    with ``changes``, already updated, skipped or found unchanged."""
    if not user_ids:
        return set()
    rows = ImportedIdentity.objects.filter(InArray("user_id", user_ids), operation_id=operation_id)
    ours = set(rows.values_list("user_id", flat=True))
    if changes:
        changed = ImportChange.objects.filter(InArray("user_id", user_ids), operation_id=operation_id)
        ours |= set(changed.values_list("user_id", flat=True))
    return ours


def _staged_usernames(operation_id: str, names: set[str]) -> set[str]:
    """Derived usernames some staged user of the operation asks for by name: not free."""
    if not names:
        return set()
    rows = ImportRecord.objects.filter(InArray("username", names), operation_id=operation_id, skipped=False)
    return set(rows.values_list("username", flat=True))


class Found(NamedTuple):
    """What a batch's lookups found: identities by importId key (their operation, their user),
    existing users by case-folded email and username, and the users this operation wrote."""

    identities: dict[str, tuple[str | None, Any]]
    emails: dict[str, Any]
    usernames: dict[str, Any]
    ours: set[Any]


def _duplicate(pk: int, keys: list[Key], first_seen: dict[Key, int]) -> dict[str, Any] | None:
    for kind, value in keys:
        if first_seen.get((kind, value), pk) < pk:
            return error_entry(UserError.DUPLICATE, KEY_FIELDS[kind], value)
    return None


def _taken(
    user: StagedUser,
    keys: list[Key],
    operation_id: str,
    found: Found,
) -> dict[str, Any] | None:
    identities, taken_emails, taken_usernames, ours = found
    for kind, value in keys:
        if kind == "i" and value in identities:
            code = UserError.DUPLICATE if identities[value][0] == operation_id else UserError.ALREADY_IMPORTED
            original = next((i for i in user.import_ids if i.lower() == value), value)
            return error_entry(code, "importIds", original)
    if user.email and user.email.lower() in taken_emails:
        code = UserError.DUPLICATE if taken_emails[user.email.lower()] in ours else UserError.EMAIL_IN_USE
        return error_entry(code, "emails", user.email)
    if user.username and user.username.lower() in taken_usernames:
        code = UserError.DUPLICATE if taken_usernames[user.username.lower()] in ours else UserError.USERNAME_IN_USE
        return error_entry(code, "username", user.username)
    return None


def _match(
    verdict: Verdict,
    keys: list[Key],
    operation_id: str,
    found: Found,
) -> dict[str, Any] | None:
    """Find the existing user a staged user names: by importId, then email, then username.
    Sets ``match``, ``matched_by`` and ``link`` (its importIds no user holds yet)."""
    user = verdict.user
    identities, taken_emails, taken_usernames, ours = found
    owners: dict[str, Any] = {}
    for kind, value in keys:
        if kind != "i" or value not in identities:
            continue
        identity_operation, owner = identities[value]
        original = next((i for i in user.import_ids if i.lower() == value), value)
        if identity_operation == operation_id:
            return error_entry(UserError.DUPLICATE, "importIds", original)
        if owners and owner not in owners.values():  # its importIds belong to two users
            return error_entry(UserError.ALREADY_IMPORTED, "importIds", original)
        owners[original] = owner
    if owners:
        verdict.match, verdict.matched_by = next(iter(owners.values())), "importId"
    elif user.email and user.email.lower() in taken_emails:
        verdict.match, verdict.matched_by = taken_emails[user.email.lower()], "email"
    elif user.username and user.username.lower() in taken_usernames:
        verdict.match, verdict.matched_by = taken_usernames[user.username.lower()], "username"
    else:
        return None
    if verdict.match in ours:
        field_name, value = MATCH_FIELDS[verdict.matched_by](user)
        return error_entry(UserError.DUPLICATE, field_name, value)
    verdict.link = [i for i in dict.fromkeys(user.import_ids) if i.lower() not in identities]
    return None


MATCH_FIELDS = {
    "importId": lambda user: ("importIds", user.import_id),
    "email": lambda user: ("emails", user.email),
    "username": lambda user: ("username", user.username),
}


def _conflict(verdict: Verdict, policy: str, taken_emails: dict[str, Any], state: JudgeState) -> dict[str, Any] | None:
    """A matched user another staged user of this run already matched is a duplicate; an
    update that would give it an email a third user has is a conflict."""
    if verdict.match in state.matched:
        field_name, value = MATCH_FIELDS[verdict.matched_by](verdict.user)
        return error_entry(UserError.DUPLICATE, field_name, value)
    state.matched.add(verdict.match)
    email = verdict.user.email.lower()
    if policy == ExistingUsers.UPDATE and email and taken_emails.get(email, verdict.match) != verdict.match:
        return error_entry(UserError.EMAIL_IN_USE, "emails", verdict.user.email)
    return None
