"""Secrets: passwords and hashes leave staging on every way an operation stops; stored files
go as soon as their content is staged; CSV output cannot smuggle formulas; the admin does not
render megabytes of one record."""

from __future__ import annotations

import csv
import io
import os
import stat

import pytest
from django.core.files.storage import storages
from django.core.management import call_command

from importops.models import ImportFailure, ImportOperation, ImportRecord
from importops.services import operations, running
from tests.conftest import user_payload
from tests.files import jsonl, upload_body

pytestmark = pytest.mark.django_db
BCRYPT = "$2b$10$" + "a" * 53


def stage_with_secrets(api) -> ImportOperation:
    api.post("import.new")
    users = [user_payload(1, password="plain-1"), user_payload(2, services={"password": {"bcrypt": BCRYPT}})]
    assert api.post("import.addUsers", {"users": users}).status_code == 200
    assert ImportRecord.objects.filter(secret__isnull=False).count() == 2
    return ImportOperation.objects.get(valid=True)


def test_abort_scrubs_secrets(api, admin):
    operation = stage_with_secrets(api)
    assert operations.operation_abort(operation=operation, user=admin)
    assert ImportRecord.objects.count() == 2
    assert not ImportRecord.objects.filter(secret__isnull=False).exists()


def test_failure_scrubs_secrets(api):
    operation = stage_with_secrets(api)
    ImportOperation.objects.filter(pk=operation.pk).update(status="importer_importing_started")
    assert running.run_fail(operation_id=operation.pk, reason="test")
    assert not ImportRecord.objects.filter(secret__isnull=False).exists()


@pytest.mark.parametrize("stop", ["import.new", "import.clear"])
def test_replacing_or_clearing_leaves_no_secret(api, stop):
    stage_with_secrets(api)
    assert api.post(stop).status_code == 200
    assert not ImportRecord.objects.filter(secret__isnull=False).exists()


def test_done_leaves_no_secret(api, run_to_end):
    stage_with_secrets(api)
    run_to_end(api)
    assert not ImportRecord.objects.filter(secret__isnull=False).exists()


def test_the_stored_file_is_removed_once_its_content_is_staged(api, django_capture_on_commit_callbacks):
    content = jsonl([user_payload(1, password="in-the-file")])
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("uploadImportFile", upload_body(content, importer="jsonl", name="users.jsonl"))
    assert response.status_code == 200
    operation = ImportOperation.objects.get(valid=True)
    assert operation.status == "importer_user_selection" and operation.file == ""
    _, names = storages["default"].listdir(f"importops/{operation.pk}")
    assert names == []


def test_a_refused_file_is_removed_too(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api.post("uploadImportFile", upload_body(b"not json\n", importer="jsonl", name="users.jsonl"))
    operation = ImportOperation.objects.get(valid=True)
    assert operation.status == "importer_import_failed" and operation.file == ""


def test_stored_files_are_not_world_readable(api, tmp_path, settings):
    """The demo's settings: the server's user only."""
    from rcimport import settings as demo

    settings.FILE_UPLOAD_PERMISSIONS = demo.FILE_UPLOAD_PERMISSIONS
    settings.FILE_UPLOAD_DIRECTORY_PERMISSIONS = demo.FILE_UPLOAD_DIRECTORY_PERMISSIONS
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    content = jsonl([user_payload(1)])
    assert api.post("uploadImportFile", upload_body(content, importer="jsonl", name="u.jsonl")).status_code == 200
    stored = ImportOperation.objects.get(valid=True).file
    assert stored
    mode = os.stat(tmp_path / stored).st_mode
    assert not mode & (stat.S_IRWXG | stat.S_IRWXO), oct(mode)
    assert not os.stat((tmp_path / stored).parent).st_mode & (stat.S_IRWXG | stat.S_IRWXO)


@pytest.mark.parametrize("evil", ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_csv_output_neutralises_formula_prefixes(api, evil):
    operation = ImportOperation.objects.create(type="api", importer_key="api", ts="2026-01-01T00:00:00Z")
    ImportFailure.objects.create(
        operation=operation, import_id=evil, email=evil, username="u", code="c", field="emails", value=evil
    )
    out = io.StringIO()
    call_command("importops_errors", "--operation", operation.pk, "--format", "csv", stdout=out)
    row = list(csv.reader(io.StringIO(out.getvalue())))[1]
    assert row[0] == row[1] == row[5] == "'" + evil


def test_the_admin_caps_a_record_it_renders(api, admin, client):
    api.post("import.new")
    assert api.post("import.addUsers", {"users": [user_payload(1, bio="b" * 200_000)]}).status_code == 200
    record = ImportRecord.objects.get()
    client.force_login(admin)
    page = client.get(f"/admin/importops/importrecord/{record.pk}/change/")
    assert page.status_code == 200
    assert len(page.content) < 60_000 and b"more characters not shown" in page.content
