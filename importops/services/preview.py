"""``import.preview``: every check a run would make, against the staged users; writes nothing."""

from __future__ import annotations

from collections import Counter
from typing import Any

from importops import errors
from importops.models import ImportOperation, ImportRecord
from importops.models.operation import ExistingUsers
from importops.models.record import DataType
from importops.services.existing import CREATE, SKIP, UNCHANGED, UPDATE, existing_plan
from importops.services.judge import JudgeState, judge
from importops.services.running import adapter

CHUNK = 2000
MAX_SAMPLES = 20
MAX_UPDATES = 20
#: Placeholder passwords: the preview never hashes, it only tells a password would be set.
_PLACEHOLDER = "!preview"


def users_preview(*, existing_users: str = ExistingUsers.FAIL, update_passwords: bool = False) -> dict[str, Any]:
    operation = ImportOperation.objects.latest_or_raise(errors.OperationNotInitialized)
    return operation_preview(operation=operation, existing_users=existing_users, update_passwords=update_passwords)


def operation_preview(
    *, operation: ImportOperation, existing_users: str = ExistingUsers.FAIL, update_passwords: bool = False
) -> dict[str, Any]:
    """{"wouldCreate", "wouldUpdate", "wouldSkip", "unchanged": n, "wouldFail": {code: n},
    "samples": [...failures], "updates": [...first updates with their field diffs]}."""
    user_adapter = adapter()
    state = JudgeState()
    outcomes: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    samples: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    records = ImportRecord.objects.filter(operation=operation, data_type=DataType.USER, skipped=False).order_by("id")
    last_id = 0
    while chunk := list(records.filter(id__gt=last_id)[:CHUNK]):
        last_id = chunk[-1].pk
        verdicts = judge(
            operation_id=operation.pk, records=chunk, adapter=user_adapter, state=state, policy=existing_users
        )
        passwords = {v.user.record_id: _password(user_adapter, v.user) for v in verdicts} if update_passwords else None
        existing_plan(verdicts=verdicts, adapter=user_adapter, policy=existing_users, passwords=passwords)
        for verdict in verdicts:
            user = verdict.user
            import_id = user.import_id
            if verdict.error is None:
                outcomes[verdict.outcome] += 1
                if verdict.outcome == UPDATE and len(updates) < MAX_UPDATES:
                    changes = verdict.changes
                    updates.append(
                        {
                            "importId": import_id,
                            "email": user.email,
                            "matchedBy": verdict.matched_by,
                            "changes": changes,
                        }
                    )
                continue
            code = verdict.error["message"]
            failures[code] += 1
            if len(samples) < MAX_SAMPLES:
                samples.append({"importId": import_id, "email": user.email, "code": code})
    return {
        "wouldCreate": outcomes[CREATE],
        "wouldUpdate": outcomes[UPDATE],
        "wouldSkip": outcomes[SKIP],
        "unchanged": outcomes[UNCHANGED],
        "wouldFail": dict(failures),
        "samples": samples,
        "updates": updates,
    }


def _password(user_adapter: Any, user: Any) -> str:
    """A Rocket.Chat hash is stored as is (so an unchanged one is seen as unchanged); a
    plaintext password is not hashed here, and always counts as a change."""
    return user_adapter.encode_password(user) if user.bcrypt and not user.password else _PLACEHOLDER
