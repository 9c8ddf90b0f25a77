"""JSON shapes of the API's bodies (docs/api.md: "Authentication", "The operation object",
"File importers")."""

from __future__ import annotations

from typing import Any

from importops.models import ImportOperation
from importops.services.selection import FileUsers
from importops.timestamps import timestamp
from importops.validation import first_non_blank


def operation_json(operation: ImportOperation) -> dict[str, Any]:
    """The operation object (docs/api.md, "The operation object"); ``count`` only once it had data."""
    completed, failed = operation.progress()
    body: dict[str, Any] = {
        "_id": operation.pk,
        "type": operation.type,
        "importerKey": operation.importer_key,
        "ts": timestamp(operation.ts),
        "status": operation.status,
        "valid": operation.valid,
        "user": str(operation.user_id) if operation.user_id is not None else None,
        "_updatedAt": timestamp(operation.last_change),
    }
    if operation.has_count or completed or failed:
        body["count"] = {
            "total": operation.count_total,
            "completed": completed,
            "error": failed,
            "users": operation.count_users,
            "channels": operation.count_channels,
            "messages": operation.count_messages,
            **{name: count for name, count in operation.outcomes().items() if name != "created"},
        }
    if operation.file_name:
        body["file"] = operation.file_name
        body["contentType"] = operation.content_type
    if operation.undo_mode:
        body["undo"] = {"mode": operation.undo_mode, **operation.undo_counts}
    if operation.failure_reason:
        body["failureReason"] = operation.failure_reason
    return body


def file_users_json(page: FileUsers | None) -> dict[str, Any]:
    """The getImportFileData body: ``{"waiting": true}`` while the file is being parsed."""
    if page is None:
        return {"waiting": True}
    operation = page.operation
    body: dict[str, Any] = {
        "name": operation.file_name or operation.type,
        "users": [
            {
                "user_id": first_non_blank(data.get("importIds")),
                "username": data.get("username", ""),
                "email": first_non_blank(data.get("emails")),
                "is_deleted": bool(data.get("deleted", False)),
                "is_bot": data.get("type") == "bot",
                "do_import": not skipped,
                "is_email_taken": first_non_blank(data.get("emails")).lower() in page.taken_emails,
            }
            for data, skipped in page.users
        ],
        "channels": [
            {"channel_id": c["name"], "name": c["name"], "is_private": c.get("private", False), "do_import": False}
            for c in page.channels
        ],
        "message_count": operation.count_messages,
    }
    if page.total is not None:
        body["total"] = page.total
    if page.truncated:
        body["truncated"] = True
    return body


def progress_json(operation: ImportOperation) -> dict[str, Any]:
    """The getImportProgress body."""
    completed, failed = operation.progress()
    return {
        "key": operation.importer_key,
        "name": operation.type,
        "step": operation.status,
        "count": {"total": operation.count_total, "completed": completed, "error": failed},
    }


def me_json(user: Any) -> dict[str, Any]:
    """The /me object. Never a password or token field."""
    email = getattr(user, user.get_email_field_name(), "") or ""
    name = user.get_full_name() if hasattr(user, "get_full_name") else getattr(user, "name", "")
    groups = list(user.groups.order_by("name").values_list("name", flat=True)) if hasattr(user, "groups") else []
    return {
        "_id": str(user.pk),
        "username": getattr(user, "username", None) or user.get_username(),
        "name": name or "",
        "emails": [{"address": email, "verified": False}] if email else [],
        "active": user.is_active,
        "roles": groups,
    }
