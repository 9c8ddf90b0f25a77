"""The skip and update policies: what a run does to the existing users staged users match.

``judge`` finds the match (by importId, then email, then username); this module decides,
for a whole batch at once, whether the user is protected, skipped, unchanged or updated,
and with which field-level changes. Shared by the run (which locks the matched rows) and
by the preview (which does not). Queries: one for protection, one for current values, one
for group memberships, per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError

from importops.errors import UserError
from importops.models.operation import ExistingUsers
from importops.services.judge import MATCH_FIELDS, Verdict
from importops.services.staging import importable_roles
from importops.staged import REDACTED, error_entry
from importops.users import UserAdapter

CREATE, UPDATE, UNCHANGED, SKIP = "create", "update", "unchanged", "skip"
PASSWORD = "password"  # noqa: S105 (a field name)


class MatchVanished(IntegrityError):
    """A matched user was deleted between the judging and the lock: judge the batch again."""


def existing_plan(
    *,
    verdicts: Sequence[Verdict],
    adapter: UserAdapter,
    policy: str,
    passwords: dict[int, str] | None = None,
    lock: bool = False,
) -> None:
    """Set ``outcome`` (and, for updates, ``changes``, ``values``, ``add_groups``) on every
    verdict without an error; protected matches get ``importer-user-protected``.

    ``passwords`` (record id → encoded password) are given only when the run may replace
    passwords. ``lock`` takes the matched rows FOR UPDATE (the run does; the preview not).
    """
    for verdict in verdicts:
        if verdict.error is None:
            verdict.outcome = CREATE if verdict.match is None else SKIP
    matched = [v for v in verdicts if v.error is None and v.match is not None]
    if not matched:
        return
    protected = adapter.protected({v.match for v in matched})
    for verdict in matched:
        if verdict.match in protected:
            verdict.error = error_entry(UserError.PROTECTED, *MATCH_FIELDS[verdict.matched_by](verdict.user))
    matched = [v for v in matched if v.error is None]
    if not matched:
        return
    update = policy == ExistingUsers.UPDATE
    wanted = {v.user.record_id: _wanted(v, adapter, passwords) if update else {} for v in matched}
    fields = {name for values in wanted.values() for name in values}
    # Locked even to skip: an undo deleting the user waits, or makes this batch judge again.
    current = adapter.current({v.match for v in matched}, fields, lock=lock)
    if not update:
        if lock and any(v.match not in current for v in matched):
            raise MatchVanished("a matched user is gone")
        return
    roles = importable_roles()
    groups = adapter.importable_groups(current, roles) if adapter.has_groups else {}
    for verdict in matched:
        if verdict.match not in current:
            if lock:
                raise MatchVanished(f"user {verdict.match} is gone")
            verdict.outcome = UNCHANGED
            continue
        _diff(verdict, wanted[verdict.user.record_id], current[verdict.match], groups.get(verdict.match, set()), roles)
        verdict.outcome = UPDATE if verdict.changes else UNCHANGED


def _wanted(verdict: Verdict, adapter: UserAdapter, passwords: dict[int, str] | None) -> dict[str, Any]:
    """The values an update sets: the adapter's mapping, minus the email when it was the match."""
    values = adapter.values(verdict.user)
    if verdict.matched_by == "email":
        values.pop(adapter.email_field, None)
    user = verdict.user
    if passwords is not None and (user.password or user.bcrypt) and user.record_id in passwords:
        values[PASSWORD] = passwords[user.record_id]
    return values


def _diff(verdict: Verdict, wanted: dict[str, Any], current: dict[str, Any], have: set[str], roles: set[str]) -> None:
    for name, value in wanted.items():
        if current[name] == value:
            continue
        if name == PASSWORD:
            verdict.changes[name] = {"old": REDACTED, "new": REDACTED}
            verdict.password_hashes = {"old": current[name], "new": value}
        else:
            verdict.changes[name] = {"old": current[name], "new": value}
        verdict.values[name] = value
    # Groups are only ever added, as Rocket.Chat's importers add roles: a membership given
    # in the product after the import is not taken away by the next one.
    add = sorted({r for r in verdict.user.roles if r in roles} - have)
    if add:
        verdict.changes["groups"] = {"old": sorted(have), "new": sorted(have | set(add))}
        verdict.add_groups = add
