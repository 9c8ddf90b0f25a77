"""Strict validation of request bodies and of users read from files: no type coercion,
``null`` means absent, errors name the field path. Used by the API, the importers and staging.

Each problem reads ``"<field path>: <problem>"`` (e.g. ``users[3].emails: must be an array
of strings``); the exception handler joins them with newlines into the 400 envelope.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from importops.errors import Invalid

Check = Callable[[Any], str | None]


def non_blank(values: Any) -> list[str]:
    """The non-blank strings of a staged list (emails, importIds), stripped."""
    return [value.strip() for value in values or [] if isinstance(value, str) and value.strip()]


def first_non_blank(values: Any) -> str:
    """The first non-blank string of a staged list, stripped; "" if none."""
    return next(iter(non_blank(values)), "")


def string(value: Any) -> str | None:
    return None if isinstance(value, str) else "must be a string"


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be a boolean"


def number(value: Any) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return None if ok else "must be a number"


def obj(value: Any) -> str | None:
    return None if isinstance(value, dict) else "must be an object"


def array(value: Any) -> str | None:
    return None if isinstance(value, list) else "must be an array"


def strings(value: Any) -> str | None:
    ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
    return None if ok else "must be an array of strings"


def one_of(*choices: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value in choices else "must be one of " + ", ".join(f'"{c}"' for c in choices)

    return check


def clean_object(
    value: Any,
    fields: Mapping[str, Check],
    *,
    path: str = "",
    required: tuple[str, ...] = (),
    unknown: str = "refuse",
    problems: list[str],
) -> dict[str, Any]:
    """Check ``value`` against ``fields``. Unknown keys are refused or (``unknown="drop"``) dropped."""
    where = path or "body"
    if not isinstance(value, dict):
        problems.append(f"{where}: must be an object")
        return {}
    cleaned: dict[str, Any] = {}
    prefix = f"{path}." if path else ""
    for key, item in value.items():
        check = fields.get(key)
        if check is None:
            if unknown == "refuse":
                problems.append(f"{prefix}{key}: is not allowed")
            continue
        if item is None:
            continue
        problem = check(item)
        if problem:
            problems.append(f"{prefix}{key}: {problem}")
        else:
            cleaned[key] = item
    for key in required:
        if key not in cleaned and not any(p.startswith(f"{prefix}{key}:") for p in problems):
            problems.append(f"{prefix}{key}: is required")
    return cleaned


def validate(value: Any, fields: Mapping[str, Check], *, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """Validate a request body object; raise Invalid with every problem found."""
    problems: list[str] = []
    cleaned = clean_object(value, fields, required=required, problems=problems)
    if problems:
        raise Invalid(problems)
    return cleaned


#: The per-user fields of import.addUsers (and of the jsonl importer), strictly typed.
USER_FIELDS = {
    "emails": strings,
    "importIds": strings,
    "username": string,
    "name": string,
    "utcOffset": number,
    "avatarUrl": string,
    "deleted": boolean,
    "statusText": string,
    "roles": strings,
    "type": one_of("user", "bot"),
    "bio": string,
    "password": string,
    "customFields": obj,
    "services": obj,
}


def validate_user(value: Any, *, path: str = "") -> dict[str, Any]:
    """One user, strictly: unknown keys dropped, ``null`` means absent. Raises Invalid."""
    problems: list[str] = []
    user = clean_object(value, USER_FIELDS, path=path, unknown="drop", problems=problems)
    if problems:
        raise Invalid(problems)
    return user


def validate_users(body: Any) -> list[dict[str, Any]]:
    """``{"users": [...]}`` strictly; unknown per-user keys dropped, any other top-level key refused."""
    problems: list[str] = []
    cleaned = clean_object(body, {"users": array}, required=("users",), problems=problems)
    users = []
    for index, user in enumerate(cleaned.get("users", [])):
        users.append(clean_object(user, USER_FIELDS, path=f"users[{index}]", unknown="drop", problems=problems))
    if problems:
        raise Invalid(problems)
    return users


#: The existing-user policy of a run (an extension): import.preview, import.run, startImport.
POLICY_FIELDS = {"existingUsers": one_of("fail", "skip", "update"), "updatePasswords": boolean}


def policy_arguments(body: dict[str, Any]) -> dict[str, Any]:
    """Service keyword arguments (``existing_users``, ``update_passwords``) from a checked body."""
    return {"existing_users": body.get("existingUsers", "fail"), "update_passwords": body.get("updatePasswords", False)}


def validate_policy(body: Any) -> dict[str, Any]:
    """``{"existingUsers"?, "updatePasswords"?}`` strictly, as service keyword arguments."""
    return policy_arguments(validate(body, POLICY_FIELDS))


def validate_undo(body: Any) -> dict[str, Any]:
    """``{"operationId", "mode"?}`` of import.undo, as service keyword arguments."""
    cleaned = validate(body, {"operationId": string, "mode": one_of("delete", "deactivate")}, required=("operationId",))
    return {"operation_id": cleaned["operationId"], "mode": cleaned.get("mode", "delete")}


def validate_selection(body: Any) -> tuple[bool, list[str], dict[str, Any]]:
    """(import all?, selected importIds, policy arguments) from the 7.0 or the pre-7.0
    startImport body (the existing-user policy beside ``input`` is an extension)."""
    problems: list[str] = []
    outer = clean_object(body, {"input": obj, **POLICY_FIELDS}, required=("input",), problems=problems)
    policy = policy_arguments(outer)
    given = outer.get("input", {})
    users = given.get("users") if isinstance(given, dict) else None
    if isinstance(users, dict):
        chosen = clean_object(users, {"all": boolean, "list": strings}, path="input.users", problems=problems)
        if problems:
            raise Invalid(problems)
        return bool(chosen.get("all", False)), list(chosen.get("list", [])), policy
    if isinstance(users, list):
        selected = []
        for index, user in enumerate(users):
            row = clean_object(
                user,
                {"user_id": string, "do_import": boolean},
                path=f"input.users[{index}]",
                required=("user_id",),
                unknown="drop",
                problems=problems,
            )
            if row.get("do_import", True) and "user_id" in row:
                selected.append(row["user_id"])
        if problems:
            raise Invalid(problems)
        return False, selected, policy
    raise Invalid(problems or ["input.users: must be an object ({all, list}) or an array of users"])
