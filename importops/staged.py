"""A staged user as the adapter and the checks read it, and the error entry a refused one keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from importops.errors import UserError

REDACTED = "[redacted]"
#: Staged keys the user row itself records (importIds are the identity's own column).
MAPPED_KEYS = frozenset({"emails", "importIds", "username", "name", "deleted", "roles"})


def error_entry(code: UserError, field_name: str | None = None, value: str | None = None) -> dict[str, Any]:
    """The error entry a failed record keeps (docs/api.md, "Per-user error codes")."""
    return {"message": code.value, "field": field_name, "value": value}


@dataclass
class StagedUser:
    """A staged record read for import: what the adapter needs, nothing more."""

    record_id: int
    email: str
    username: str
    name: str
    active: bool
    roles: list[str]
    import_ids: list[str]
    password: str | None = None
    bcrypt: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def import_id(self) -> str:
        """The first importId, or ""."""
        return self.import_ids[0] if self.import_ids else ""

    @property
    def import_keys(self) -> list[str]:
        return [value.lower() for value in self.import_ids]

    def extras(self) -> dict[str, Any]:
        """What the user row has no column for: kept on the imported identity."""
        extras = {key: value for key, value in self.data.items() if key not in MAPPED_KEYS}
        if len(self.data.get("emails") or []) > 1:
            extras["emails"] = self.data["emails"]
        return extras
