"""The staged-records admin and the operation detail: what they show, and the shape of
their queries (no unfiltered COUNT(*); indexes for every search and filter)."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from importops.models import ImportOperation, ImportRecord
from tests.conftest import user_payload, users_payload

pytestmark = pytest.mark.django_db
RECORDS = "admin:importops_importrecord_changelist"


@pytest.fixture
def staff_client(admin):
    client = Client()
    client.force_login(admin)
    return client


@pytest.fixture
def staged(api, run_to_end):
    """An operation with a failed user (kept staged, with a code) and staged users with secrets."""
    api.post("import.new")
    api.post("import.addUsers", {"users": [{**user_payload(0, password="hunter2"), "emails": ["broken"]}]})
    run_to_end(api)
    api.post("import.new")
    api.post("import.addUsers", users_payload(30, password="s3cret-pass"))
    api.post(
        "import.addUsers",
        {"users": [user_payload(99, services={"password": {"bcrypt": "$2b$10$" + "x" * 53}})]},
    )
    return ImportOperation.objects.get(valid=True)


def test_list_redirects_to_the_latest_operation(staff_client, staged):
    response = staff_client.get(reverse(RECORDS))
    assert response.status_code == 302
    assert f"operation__id__exact={staged.pk}" in response["Location"]


def test_search_by_email_username_import_id_case_insensitively(staff_client, staged):
    url = reverse(RECORDS) + f"?operation__id__exact={staged.pk}"
    for term in ("U7@Example.com", "U7", "U-7"):
        page = staff_client.get(f"{url}&q={term}").content.decode()
        assert "u7@example.com" in page and "u8@example.com" not in page, term


def test_has_errors_filter_and_codes(staff_client, api, run_to_end):
    api.post("import.new")
    api.post("import.addUsers", {"users": [user_payload(1), {**user_payload(2), "emails": ["broken"]}]})
    run_to_end(api)
    failed = ImportOperation.objects.get(valid=True)
    page = staff_client.get(reverse(RECORDS) + f"?operation__id__exact={failed.pk}&failed=yes").content.decode()
    assert "importer-user-invalid-email" in page and "u-2" in page
    assert "u-1" not in page  # created: left staging


def test_detail_never_shows_secrets(staff_client, staged):
    for record in ImportRecord.objects.filter(operation=staged)[:3]:
        page = staff_client.get(reverse("admin:importops_importrecord_change", args=[record.pk])).content.decode()
        assert "s3cret-pass" not in page and "plaintext password [redacted]" in page
    bcrypt_record = ImportRecord.objects.get(import_id="u-99")
    page = staff_client.get(reverse("admin:importops_importrecord_change", args=[bcrypt_record.pk])).content.decode()
    assert "$2b$10$" not in page and "bcrypt hash [redacted]" in page
    listing = staff_client.get(reverse(RECORDS) + f"?operation__id__exact={staged.pk}").content.decode()
    assert "s3cret-pass" not in listing and "$2b$" not in listing


def test_operation_detail_shows_the_error_breakdown_after_staging_was_cleared(staff_client, staged):
    failed = ImportOperation.objects.exclude(pk=staged.pk).get()
    assert not ImportRecord.objects.filter(operation=failed).exists()  # cleared by import.new
    page = staff_client.get(reverse("admin:importops_importoperation_change", args=[failed.pk])).content.decode()
    assert "importer-user-invalid-email" in page and "broken" in page and "hunter2" not in page


def test_progress_json(staff_client, staged):
    response = staff_client.get(reverse("admin:importops_importoperation_progress", args=[staged.pk]))
    body = response.json()
    assert body["total"] == 31 and body["completed"] == 0 and body["state"] == "ready" and body["running"] is True


def record_queries(captured):
    return [q["sql"] for q in captured.captured_queries if "importops_importrecord" in q["sql"]]


def test_record_queries_are_always_scoped_to_one_operation(staff_client, staged):
    base = reverse(RECORDS) + f"?operation__id__exact={staged.pk}"
    for suffix in ("", "&q=u3", "&failed=yes", "&data_type__exact=user", "&p=1"):
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(base + suffix).status_code == 200
        sqls = record_queries(captured)
        assert sqls, suffix
        for sql in sqls:
            assert re.search(r'"operation_id" = ', sql), sql  # never the whole table
            if "COUNT(*)" in sql:
                assert "LIMIT" in sql, sql  # counts are capped


def test_operation_detail_queries_are_scoped(staff_client, staged):
    with CaptureQueriesContext(connection) as captured:
        staff_client.get(reverse("admin:importops_importoperation_change", args=[staged.pk]))
    for sql in record_queries(captured) + [
        q["sql"] for q in captured.captured_queries if "importops_importfailure" in q["sql"]
    ]:
        assert '"operation_id" = ' in sql, sql
    assert not any("COUNT(*)" in q["sql"] and "importops_importrecord" in q["sql"] for q in captured.captured_queries)


def explain(sql: str) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # price sequential scans out
            cursor.execute("EXPLAIN " + sql)
            return "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def test_searches_and_filters_use_indexes(staff_client, staged):
    """No plan reads the whole staged table: PostgreSQL (sequential scans priced out) shows
    no Seq Scan on it, SQLite only SEARCHes it."""
    base = reverse(RECORDS) + f"?operation__id__exact={staged.pk}"
    plans = []
    for suffix in ("", "&q=u3@example.com", "&failed=yes", "&data_type__exact=user&failed=no"):
        with CaptureQueriesContext(connection) as captured:
            staff_client.get(base + suffix)
        for sql in record_queries(captured):
            plan = explain(sql)
            plans.append(plan)
            assert "Seq Scan on importops_importrecord" not in plan, (suffix, sql, plan)
            assert not re.search(r"\bSCAN importops_importrecord\b", plan), (suffix, sql, plan)
    assert any("importops_record_" in plan for plan in plans)
