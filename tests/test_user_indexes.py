"""importops_user_indexes and the importops.W005 check: the case-insensitive lookups of a run
use indexes on the user table instead of scanning it."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from importops.bulk import index_probes
from importops.checks import check_user_indexes
from importops.models import ImportRecord
from importops.services import operations, staging, user_indexes
from importops.services.judge import STAGED_ROW_FIELDS, judge
from importops.users import UserAdapter
from tests.conftest import create_user, user_payload

# CREATE INDEX CONCURRENTLY cannot run inside a transaction.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _drop_afterwards():
    yield
    user_indexes.drop()


def indexes_command(*args: str) -> str:
    out = StringIO()
    call_command("importops_user_indexes", *args, stdout=out)
    return out.getvalue()


def lookup_plan() -> str:
    """The query plan of the lookup a batch makes, with sequential scans discouraged (a
    tiny table would be scanned anyway): it names the index when the index fits the query."""
    with CaptureQueriesContext(connection) as queries:
        UserAdapter().taken(emails=["A@example.com"], usernames=["a"])
    (query,) = queries.captured_queries
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("EXPLAIN " + query["sql"])
            plan = "\n".join(row[0] for row in cursor.fetchall())
            cursor.execute("RESET enable_seqscan")
            return plan
        cursor.execute("EXPLAIN QUERY PLAN " + query["sql"])
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def test_create_is_idempotent_the_lookup_uses_the_indexes_and_drop_removes_them():
    wanted = user_indexes.wanted()
    assert user_indexes.missing() == wanted
    assert "importops_" not in lookup_plan()

    first = indexes_command()
    assert first.count("created ") == len(wanted), first
    assert user_indexes.missing() == []
    plan = lookup_plan()
    for index in wanted:
        assert index.name in plan, plan

    again = indexes_command()
    assert "created" not in again and again.count("already indexed") == len(wanted), again

    dropped = indexes_command("--drop")
    assert dropped.count("dropped") == len(wanted), dropped
    assert user_indexes.missing() == wanted
    assert indexes_command("--drop").count("absent") == len(wanted)


def test_an_equivalent_index_created_otherwise_counts():
    index = user_indexes.wanted()[0]
    with connection.cursor() as cursor:
        folded = user_indexes._expression(index.column, connection.vendor, connection.ops.quote_name)
        cursor.execute(f'CREATE INDEX host_lower_idx ON "{index.table}" ({folded})')
    try:
        assert index not in user_indexes.missing()
        assert user_indexes.wanted()[1:] == user_indexes.missing()
        assert f"already indexed: folded {index.column}" in indexes_command()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX host_lower_idx")


def test_the_check_warns_about_a_large_user_table_without_the_indexes(monkeypatch):
    monkeypatch.setattr(user_indexes, "LARGE_USER_TABLE", 2)
    assert check_user_indexes(databases=["default"]) == []  # small table
    for name in ("big1", "big2", "big3"):
        create_user(name)
    (warning,) = check_user_indexes(databases=["default"])
    assert warning.id == "importops.W005" and "importops_user_indexes" in warning.hint
    indexes_command()
    assert check_user_indexes(databases=["default"]) == []
    assert check_user_indexes(databases=None) == []  # only with --database (migrate passes it)


def settings_now() -> tuple[str, str] | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_seqscan'), current_setting('jit')")
        return cursor.fetchone()


def test_a_batch_probes_the_indexes_of_a_user_table_grown_since_its_statistics():
    """The user table was empty when the indexes were built (its statistics say so) and then
    grew by thousands of rows, as in a run: a batch's lookup still probes the indexes, and
    leaves the planner settings as it found them."""
    indexes_command()
    User = UserAdapter().model
    email = User.get_email_field_name()
    User.objects.bulk_create([User(**{email: f"grown{n}@example.com", **username(f"grown{n}")}) for n in range(3000)])
    operation = operations.operation_create(user=None, importer_key="api", importer_name="api")
    staging.users_stage(operation_id=operation.pk, users=[user_payload(n) for n in range(2500)])
    records = list(ImportRecord.objects.filter(operation=operation).values_list(*STAGED_ROW_FIELDS, named=True))
    plans = []

    def explain_the_lookup(execute, sql, params, many, context):
        if not sql.startswith("EXPLAIN") and f'FROM "{User._meta.db_table}" WHERE' in sql and "_email" in sql:
            plans.append(explain(sql, params))
        return execute(sql, params, many, context)

    before = settings_now()
    with connection.execute_wrapper(explain_the_lookup):
        judge(operation_id=operation.pk, records=records, adapter=UserAdapter())
    assert len(plans) == 1
    for index in user_indexes.wanted():
        assert index.name in plans[0], plans[0]
    assert settings_now() == before


def username(name: str) -> dict[str, str]:
    field = UserAdapter().username_field
    return {field: name} if field else {}


def explain(sql: str, params) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN " + sql, params)
            return "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def test_an_error_within_the_probes_leaves_the_planner_settings_as_they_were():
    with transaction.atomic():
        before = settings_now()
        with pytest.raises(DatabaseError), index_probes(), connection.cursor() as cursor:
            cursor.execute("SELECT * FROM importops_no_such_table")
        assert settings_now() == before
