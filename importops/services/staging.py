"""The staging area: how users (from the API or a parsed file) become staged records."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.db.models import F

from importops import errors, retry
from importops.bulk import insert_rows
from importops.conf import importops_settings
from importops.folding import fold
from importops.models import ImportOperation, ImportRecord
from importops.models.record import DataType
from importops.services.audit import CHANGE, audit
from importops.states import State, Status
from importops.validation import first_non_blank

#: Per-user keys kept in a record's data; secrets (password, services) never go there.
DATA_KEYS = frozenset(
    {
        "emails",
        "importIds",
        "username",
        "name",
        "utcOffset",
        "avatarUrl",
        "deleted",
        "statusText",
        "roles",
        "type",
        "bio",
        "customFields",
    }
)
STAGE_BATCH = 5000


def has_required_data(user: dict[str, Any]) -> bool:
    return bool(first_non_blank(user.get("emails")) and first_non_blank(user.get("importIds")))


#: The columns of a staged record that differ from user to user (``record_values``).
RECORD_COLUMNS = ["data", "secret", "email", "username", "import_id"]


def record_values(user: dict[str, Any], default_roles: list[str]) -> tuple[Any, ...]:
    """One staged record's ``RECORD_COLUMNS``: secrets go to ``secret``, searchable keys to
    indexed columns."""
    data = {key: value for key, value in user.items() if key in DATA_KEYS and value is not None}
    roles = list(dict.fromkeys([*(user.get("roles") or []), *default_roles]))
    if roles:
        data["roles"] = roles
    secret = {}
    if user.get("password"):
        secret["password"] = user["password"]
    bcrypt = ((user.get("services") or {}).get("password") or {}).get("bcrypt")
    if bcrypt is not None:
        secret["bcrypt"] = bcrypt if isinstance(bcrypt, str) else ""
    return (
        data,
        secret or None,
        fold(first_non_blank(data.get("emails")))[:254],
        fold((data.get("username") or "").strip())[:255],
        first_non_blank(data.get("importIds")).lower()[:255],
    )


def users_stage(
    *,
    operation_id: str,
    users: Iterable[dict[str, Any]],
    statuses: Iterable[str] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Stage users in bulk, a chunk per transaction, growing the operation's counts.

    Each chunk first updates the operation row — conditionally on ``statuses`` when given,
    and the operation being valid — then inserts its records: the lock order of stop calls,
    which therefore wait for a chunk in flight and stop every later one (StagingStopped).
    Without ``statuses`` there is no state check: the caller holds the row already.
    """
    default_roles = list(importops_settings.DEFAULT_ROLES)
    batch: list[dict[str, Any]] = []
    staged = 0

    def stage(chunk: list[dict[str, Any]]) -> int:
        return retry.unit(
            lambda: _stage_chunk(operation_id, chunk, default_roles, statuses, staged), what="staging users"
        )

    for user in users:
        batch.append(user)
        if len(batch) >= STAGE_BATCH:
            staged += stage(batch)
            batch = []
            if on_progress is not None:
                on_progress(staged)
    if batch:
        staged += stage(batch)
    if on_progress is not None:
        on_progress(staged)
    return staged


class StagingStopped(Exception):
    """The operation was stopped (or changed state) while users were being staged."""


def _stage_chunk(
    operation_id: str,
    users: list[dict[str, Any]],
    default_roles: list[str],
    statuses: Iterable[str] | None,
    staged: int,
) -> int:
    """One chunk, one transaction. With ``statuses`` (a file's parse, which starts from an
    empty operation) the chunk also requires the ``staged`` users before it, so a chunk run
    again after its commit was lost in a database fault is not staged twice."""
    with transaction.atomic():
        target = ImportOperation.objects.all() if statuses is None else ImportOperation.objects.filter(valid=True)
        grown = (target if statuses is None else target.filter(count_users=staged)).transition(
            operation_id,
            source=None if statuses is None else list(statuses),
            count_total=F("count_total") + len(users),
            count_users=F("count_users") + len(users),
        )
        if statuses is not None and not grown:
            if target.filter(pk=operation_id, count_users=staged + len(users)).exists():
                return len(users)  # this chunk's commit went through before the fault
            raise StagingStopped(operation_id)
        insert_rows(
            ImportRecord,
            RECORD_COLUMNS,
            (record_values(user, default_roles) for user in users),  # made as the COPY takes them
            # errors given once: its default (list) would be called for every record
            constants={"operation_id": operation_id, "data_type": DataType.USER, "errors": []},
        )
    return len(users)


def importable_roles() -> set[str]:
    return set(importops_settings.IMPORTABLE_ROLES) | set(importops_settings.DEFAULT_ROLES)


def users_add(*, user: Any, users: list[dict[str, Any]]) -> None:
    """``import.addUsers``: the rules of docs/api.md ("Bulk user import"), in order; all-or-nothing."""
    if not users:
        return
    operation = ImportOperation.objects.latest_or_raise(errors.OperationNotInitialized)
    _check_can_receive(operation)
    if not all(has_required_data(u) for u in users):
        raise errors.MissingRequiredData()
    allowed = importable_roles()
    if any(role not in allowed for u in users for role in u.get("roles") or []):
        raise errors.InvalidRoles()
    with transaction.atomic():
        # Conditional on the state, and it locks the row: a concurrent import.new or
        # import.run waits for this call, and this call fails if one of them won.
        accepted = ImportOperation.objects.filter(valid=True).transition(
            operation.pk, source=[Status.NEW, Status.USER_SELECTION], status=Status.USER_SELECTION
        )
        if not accepted:
            _check_can_receive(ImportOperation.objects.filter(pk=operation.pk).first())
            raise errors.OperationNotInitialized()
        count = users_stage(operation_id=operation.pk, users=users)
        audit(user=user, obj=operation, action=CHANGE, message=f"Added {count} users")


def _check_can_receive(operation: ImportOperation | None) -> None:
    if operation is None or not operation.valid:
        raise errors.OperationNotInitialized()
    state = operation.state
    if state in (State.LOADING, State.IMPORTING):
        raise errors.OperationCannotReceiveData()
    if state in (State.DONE, State.ERROR, State.CANCELED):
        raise errors.OperationFinished()
