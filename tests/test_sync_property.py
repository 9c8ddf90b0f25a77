"""Property: importing a file in several runs ends in the same users as one run of the whole
(with the update and the skip policy), whatever the users that existed before."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.test import TestCase
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importops.models import ImportedIdentity
from importops.services import operations, running, staging
from importops.tasks import enqueue
from tests.conftest import HAS_USERNAME, create_user
from tests.sync import EMAIL, User

pytestmark = pytest.mark.django_db
PEOPLE = 8

person = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["", "Ada Lovelace", "Grace Hopper", "Alan"]),
        "deleted": st.booleans(),
        "roles": st.sampled_from([[], ["admin"]]),
    }
)


def payload(index: int, values: dict[str, Any]) -> dict[str, Any]:
    user = {"emails": [f"p{index}@example.com"], "importIds": [f"id-{index}"], **values}
    if HAS_USERNAME:
        user["username"] = f"p{index}"
    return user


class Rollback(Exception):
    pass


def imported(users: list[dict[str, Any]], policy: str) -> None:
    operations.operation_create(user=AnonymousUser(), importer_key="api", importer_name="api")
    staging.users_add(user=AnonymousUser(), users=users)
    with TestCase.captureOnCommitCallbacks(execute=True):
        enqueue(running.run_start(user=None, existing_users=policy))


def end_state() -> tuple[Any, ...]:
    users = sorted(
        (
            getattr(u, EMAIL),
            u.get_username(),
            u.get_full_name(),
            u.is_active,
            tuple(sorted(u.groups.values_list("name", flat=True))),
        )
        for u in User._default_manager.filter(**{f"{EMAIL}__startswith": "p"}).order_by("pk")
    )
    identities = sorted(ImportedIdentity.objects.values_list("import_id", f"user__{EMAIL}"))
    return tuple(users), tuple(identities)


def outcome(before: dict[int, dict[str, Any]], hand_made: list[int], runs: list[list[dict[str, Any]]], policy: str):
    try:
        with transaction.atomic():
            for index in hand_made:
                create_user(f"p{index}")
            if before:
                imported([payload(i, v) for i, v in before.items()], "fail")
            for users in runs:
                imported(users, policy)
            state = end_state()
            raise Rollback
    except Rollback:
        return state


def expected(before, hand_made, file, policy):
    """The end state worked out by hand: what the policy says each person ends as."""
    people: dict[int, dict[str, Any]] = {}
    for index in hand_made:
        people[index] = {"name": "", "active": True, "groups": set()}
    for index, values in before.items():
        people[index] = {"name": values["name"], "active": not values["deleted"], "groups": {"user", *values["roles"]}}
    for index, values in file.items():
        known = people.get(index)
        if known is None:
            people[index] = {
                "name": values["name"],
                "active": not values["deleted"],
                "groups": {"user", *values["roles"]},
            }
        elif policy == "update":
            known["name"] = values["name"] or known["name"]
            known["active"] = not values["deleted"]
            known["groups"] |= {"user", *values["roles"]}
    identities = {(f"id-{i}", f"p{i}@example.com") for i in set(before) | set(file)}
    users = {
        (
            f"p{i}@example.com",
            f"p{i}" if HAS_USERNAME else f"p{i}@example.com",
            p["name"],
            p["active"],
            tuple(sorted(p["groups"])),
        )
        for i, p in people.items()
    }
    return users, identities


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    before=st.dictionaries(st.integers(0, PEOPLE - 1), person, max_size=PEOPLE // 2),
    hand_made=st.lists(st.integers(PEOPLE, PEOPLE + 2), unique=True, max_size=2),
    file=st.dictionaries(st.integers(0, PEOPLE + 2), person, min_size=1, max_size=PEOPLE),
    cuts=st.lists(st.integers(1, PEOPLE - 1), unique=True, max_size=3),
    policy=st.sampled_from(["update", "skip"]),
)
def test_any_split_into_runs_equals_one_run(db, before, hand_made, file, cuts, policy):
    users = [payload(i, v) for i, v in file.items()]
    edges = [0, *sorted(c for c in cuts if c < len(users)), len(users)]
    runs = [users[a:b] for a, b in zip(edges, edges[1:], strict=False) if users[a:b]]
    whole = outcome(before, hand_made, [users], policy)
    split = outcome(before, hand_made, runs, policy)
    assert split == whole
    people, identities = expected(before, hand_made, file, policy)
    assert set(whole[0]) == people and set(whole[1]) == identities
    # And a second run of the whole file changes nothing.
    assert outcome(before, hand_made, [users, users], policy) == whole
