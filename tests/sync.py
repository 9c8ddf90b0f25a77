"""Helpers for the existing-user policy and undo tests: import a list of users with a policy,
read users back by email, whatever the user model."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

User = get_user_model()
EMAIL = User.get_email_field_name()


def stage(api: Any, users: list[dict[str, Any]]) -> None:
    assert api.post("import.new").status_code == 200
    response = api.post("import.addUsers", {"users": users})
    assert response.status_code == 200, response.content


def run(api: Any, capture: Any, **body: Any) -> dict[str, Any]:
    """import.run with ``body`` (the policy), drained inline; the operation JSON after it."""
    with capture(execute=True):
        response = api.post("import.run", body) if body else api.post("import.run")
    assert response.status_code == 200, response.content
    status = api.get("import.status").json()
    assert status["state"] == "done", status
    return status["operation"]


def import_users(api: Any, capture: Any, users: list[dict[str, Any]], **body: Any) -> dict[str, Any]:
    stage(api, users)
    return run(api, capture, **body)


def preview(api: Any, **body: Any) -> dict[str, Any]:
    response = api.post("import.preview", body) if body else api.post("import.preview")
    assert response.status_code == 200, response.content
    return response.json()


def by_email(email: str) -> Any:
    return User._default_manager.get(**{EMAIL: email})


def full_name(user: Any) -> str:
    return user.get_full_name()


def groups_of(user: Any) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def counts(operation: dict[str, Any]) -> dict[str, int]:
    """The outcome counters of an operation JSON, with ``created`` worked out."""
    count = operation["count"]
    outcomes = {name: count[name] for name in ("updated", "skipped", "unchanged")}
    return {"created": count["completed"] - sum(outcomes.values()), "error": count["error"], **outcomes}
