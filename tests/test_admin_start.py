"""The admin's "Start an import" pages, and the API, with a 10,000-user Rocket.Chat CSV ZIP
holding conflicts: review shows the counts a run would produce; unticked users are skipped."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from importops.models import ImportOperation
from tests.conftest import create_user
from tests.files import upload_body, users_csv, zipped

pytestmark = pytest.mark.django_db
User = get_user_model()
COUNT = 10_000


def export_with_conflicts() -> bytes:
    """10,000 users: two emails already taken (other case), two duplicates, one bad email."""
    rows = [(f"big{n}", f"big{n}@example.com", f"Big {n}") for n in range(COUNT)]
    rows[10] = ("big10", "TAKEN1@example.com", "Taken One")
    rows[20] = ("big20", "Taken2@Example.com", "Taken Two")
    rows[30] = ("big30x", "BIG0@example.com", "Duplicate email")
    rows[40] = ("BIG1", "big40@example.com", "Duplicate username")
    rows[50] = ("big50", "not-an-email", "Bad email")
    return zipped({"users.csv": users_csv(rows), "channels.csv": b"general,admin,false,\n"})


EXPECTED_FAILURES = {"importer-user-email-in-use": 2, "importer-user-duplicate": 2, "importer-user-invalid-email": 1}


@pytest.fixture
def taken(db):
    create_user("taken1")
    create_user("taken2")


@pytest.fixture
def staff_client(admin):
    client = Client()
    client.force_login(admin)
    return client


def finished():
    return ImportOperation.objects.with_progress().get(valid=True)


def test_admin_upload_review_untick_start(staff_client, taken, django_capture_on_commit_callbacks):
    listing = staff_client.get(reverse("admin:importops_importoperation_changelist")).content.decode()
    assert 'id="importops-start"' in listing
    upload = io.BytesIO(export_with_conflicts())
    upload.name = "export.zip"
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:importops_importoperation_start"), {"importer": "csv", "file": upload}
        )
    operation = ImportOperation.objects.get(valid=True)
    assert response.status_code == 302 and response["Location"].endswith(f"/{operation.pk}/review/")

    review = staff_client.get(response["Location"]).content.decode()
    assert f'<strong id="importops-would-create">{COUNT - 5}</strong>' in review
    for code, count in EXPECTED_FAILURES.items():
        assert f"<td><code>{code}</code></td><td>{count}</td>" in review
    assert review.count('name="selected"') == 500  # the first 500, each with a box

    shown = [f"big{n}" for n in range(500)]
    shown[30], shown[40] = "big30x", "BIG1"
    ticked = [key for key in shown if key not in ("big2", "big3")]  # untick two users
    with django_capture_on_commit_callbacks(execute=True):
        started = staff_client.post(response["Location"], {"shown": shown, "selected": ticked})
    assert started.status_code == 302 and started["Location"].endswith(f"/{operation.pk}/change/")
    operation = finished()
    assert operation.status == "importer_done"
    assert operation.count_total == COUNT - 2
    assert (operation.completed, operation.failed) == (COUNT - 2 - 5, 5)
    assert not User._default_manager.filter(**{User.get_email_field_name(): "big2@example.com"}).exists()
    detail = staff_client.get(started["Location"]).content.decode()
    assert "importer-user-email-in-use" in detail


def test_api_upload_preview_start(api, taken, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            api.post(
                "uploadImportFile", upload_body(export_with_conflicts(), importer="csv", name="export.zip")
            ).status_code
            == 200
        )
    preview = api.post("import.preview").json()
    assert preview["wouldCreate"] == COUNT - 5 and preview["wouldFail"] == EXPECTED_FAILURES
    data = api.get("getImportFileData").json()
    assert len(data["users"]) == COUNT and "truncated" not in data
    assert [u["is_email_taken"] for u in data["users"][9:12]] == [False, True, False]
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("startImport", {"input": {"users": {"all": True}}}).status_code == 200
    operation = finished()
    assert (operation.status, operation.completed, operation.failed) == ("importer_done", COUNT - 5, 5)


def test_review_page_while_loading_and_after_failure(staff_client, api, django_capture_on_commit_callbacks):
    from tests.factories import operation_in

    loading = operation_in("loading")
    page = staff_client.get(reverse("admin:importops_importoperation_review", args=[loading.pk])).content.decode()
    assert 'id="importops-loading"' in page and 'http-equiv="refresh"' in page
    with django_capture_on_commit_callbacks(execute=True):
        api.post("uploadImportFile", upload_body(zipped({"users.csv": b"a,b\n"}), importer="csv", name="x.zip"))
    failed = ImportOperation.objects.get(valid=True)
    page = staff_client.get(reverse("admin:importops_importoperation_review", args=[failed.pk])).content.decode()
    assert "users.csv line 1: 2 columns, expected 3" in page


def test_start_pages_need_run_import(db):
    staff = create_user("viewer", is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.get(reverse("admin:importops_importoperation_start")).status_code == 403


def test_a_refused_file_shows_on_the_form(staff_client):
    upload = io.BytesIO(b"")
    upload.name = "empty.zip"
    response = staff_client.post(reverse("admin:importops_importoperation_start"), {"importer": "csv", "file": upload})
    assert response.status_code == 200
    assert "empty" in response.content.decode()
