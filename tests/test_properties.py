"""Property tests (hypothesis) of body validation and staging over arbitrary JSON: any
nesting, huge and non-finite numbers, every code point (lone surrogates and NUL included),
long strings. The bar: a 200 that stored what the database can hold, or a 400 that changed
nothing — never anything else."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importops import jsonsafe
from importops.errors import Invalid
from importops.models import ImportOperation, ImportRecord
from importops.validation import validate_users
from tests.conftest import user_payload

EVERY_CODE_POINT = st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF), max_size=30)
LONG = st.text(st.characters(codec="utf-8"), min_size=2000, max_size=5000)
NUMBERS = st.integers() | st.integers(min_value=2**62, max_value=2**70) | st.floats(allow_nan=True, allow_infinity=True)
SCALARS = st.none() | st.booleans() | NUMBERS | EVERY_CODE_POINT | LONG
JSON = st.recursive(
    SCALARS, lambda children: st.lists(children, max_size=4) | st.dictionaries(EVERY_CODE_POINT, children, max_size=4)
)
KEYS = st.sampled_from(["emails", "importIds", "username", "name", "utcOffset", "roles", "type", "bio", "customFields"])
USERS = st.lists(st.dictionaries(KEYS | EVERY_CODE_POINT, JSON, max_size=6), max_size=3)
BODIES = st.fixed_dictionaries({"users": USERS}) | JSON


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def wire(value) -> str:
    """What a client could send: NaN, Infinity and lone surrogates survive as JSON text."""
    return json.dumps(value, allow_nan=True, ensure_ascii=True)


@given(JSON)
@settings(max_examples=300, deadline=None)
def test_safe_json_is_exactly_what_utf8_json_round_trips(value):
    try:
        jsonsafe.check(value)
    except jsonsafe.UnsafeJSON as exc:
        assert str(exc).encode("utf-8")  # the message itself can be sent
        return
    text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    assert "\\u0000" not in text
    assert json.loads(text.encode("utf-8")) == value


@given(st.integers(min_value=1, max_value=20_000))
@settings(max_examples=30, deadline=None)
def test_any_nesting_depth_is_judged_without_recursion(depth):
    if depth <= jsonsafe.MAX_DEPTH:
        assert jsonsafe.loads(deep(depth)) is not None
    else:
        with pytest.raises(jsonsafe.UnsafeJSON, match="nested"):
            jsonsafe.loads(deep(depth))


@given(BODIES)
@settings(max_examples=300, deadline=None)
def test_validation_returns_or_refuses_and_nothing_else(body):
    try:
        value = jsonsafe.loads(wire(body))
    except jsonsafe.UnsafeJSON:
        return
    try:
        users = validate_users(value)
    except Invalid as exc:
        assert exc.problems and all(": " in problem for problem in exc.problems)
        return
    assert isinstance(users, list) and all(isinstance(user, dict) for user in users)


@pytest.mark.django_db
@given(BODIES)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_add_users_answers_200_or_a_400_that_changed_nothing(api, body):
    api.post("import.new")
    api.post("import.addUsers", {"users": [user_payload(0)]})
    before = (ImportRecord.objects.count(), list(ImportOperation.objects.values_list("pk", "status", "count_total")))
    response = api.client.post("/api/v1/import.addUsers", wire(body), content_type="application/json", **api.headers)
    assert response.status_code in (200, 400), response.content
    assert response.json()["success"] is (response.status_code == 200)
    if response.status_code == 400:
        after = (ImportRecord.objects.count(), list(ImportOperation.objects.values_list("pk", "status", "count_total")))
        assert after == before
    else:  # what was staged reads back (the database held every string and number)
        assert all(isinstance(record.data, dict) for record in ImportRecord.objects.all())
