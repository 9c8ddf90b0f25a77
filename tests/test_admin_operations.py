"""The operations admin: list, read-only detail, Abort behind a confirmation page, history."""

import pytest
from django.contrib import admin as django_admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from importops.models import ImportOperation
from tests.conftest import Api, create_user, grant

pytestmark = pytest.mark.django_db


def make_operation(status="importer_importing_users", valid=True, user=None, **extra):
    if valid:
        ImportOperation.objects.filter(valid=True).update(valid=False)
    return ImportOperation.objects.create(
        type="api", importer_key="api", ts=timezone.now(), status=status, valid=valid, user=user, **extra
    )


@pytest.fixture
def staff_client(admin):
    client = Client()
    client.force_login(admin)
    return client


def change_url(operation):
    return reverse("admin:importops_importoperation_change", args=[operation.pk])


def abort_url(operation):
    return reverse("admin:importops_importoperation_abort", args=[operation.pk])


def test_list_shows_operations_with_state_and_filters(staff_client, admin):
    running = make_operation(user=admin, count_total=10)
    done = make_operation(status="importer_done", valid=False)
    response = staff_client.get(reverse("admin:importops_importoperation_changelist"))
    assert response.status_code == 200
    page = response.content.decode()
    assert running.pk in page and done.pk in page
    assert "importops-badge importops-running" in page and "importops-badge importops-done" in page
    filtered = staff_client.get(reverse("admin:importops_importoperation_changelist") + "?state=done")
    assert done.pk in filtered.content.decode() and running.pk not in filtered.content.decode()
    searched = staff_client.get(reverse("admin:importops_importoperation_changelist") + f"?q={running.pk}")
    assert running.pk in searched.content.decode() and done.pk not in searched.content.decode()


def test_detail_is_read_only(staff_client):
    operation = make_operation()
    response = staff_client.get(change_url(operation))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="_save"' not in page
    assert "Abort" in page and abort_url(operation) in page
    before = ImportOperation.objects.get(pk=operation.pk).status
    staff_client.post(change_url(operation), {"status": "importer_done"})
    assert ImportOperation.objects.get(pk=operation.pk).status == before


def test_abort_asks_for_confirmation_then_cancels_and_logs(staff_client, admin):
    operation = make_operation()
    page = staff_client.get(abort_url(operation))
    assert page.status_code == 200 and "Yes, abort" in page.content.decode()
    assert ImportOperation.objects.get(pk=operation.pk).status == "importer_importing_users"
    response = staff_client.post(abort_url(operation), follow=True)
    assert response.status_code == 200
    operation.refresh_from_db()
    assert (operation.status, operation.valid, operation.state) == ("importer_import_cancelled", True, "canceled")
    assert "Aborted 1 import operation" in response.content.decode()
    entry = LogEntry.objects.get(object_id=operation.pk, action_flag=CHANGE)
    assert entry.user_id == admin.pk and "Aborted" in entry.get_change_message()


def test_abort_needs_csrf(admin):
    operation = make_operation()
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    assert client.post(abort_url(operation)).status_code == 403
    assert ImportOperation.objects.get(pk=operation.pk).status == "importer_importing_users"


def test_abort_needs_the_abort_permission(admin):
    viewer = grant(create_user("viewer", is_staff=True), "view_importoperation")
    operation = make_operation()
    client = Client()
    client.force_login(viewer)
    assert client.get(change_url(operation)).status_code == 200
    assert "importops-abort" not in client.get(change_url(operation)).content.decode()
    assert client.post(abort_url(operation)).status_code == 403
    assert ImportOperation.objects.get(pk=operation.pk).status == "importer_importing_users"


def test_bulk_abort_action_with_confirmation(staff_client):
    first = make_operation(status="importer_user_selection")
    finished = make_operation(status="importer_done")
    url = reverse("admin:importops_importoperation_changelist")
    data = {"action": "abort_selected", "_selected_action": [first.pk, finished.pk]}
    confirm = staff_client.post(url, data)
    assert confirm.status_code == 200 and "Yes, abort" in confirm.content.decode()
    assert ImportOperation.objects.get(pk=first.pk).status == "importer_user_selection"
    staff_client.post(url, {**data, "confirmed": "yes"})
    assert ImportOperation.objects.get(pk=first.pk).status == "importer_import_cancelled"
    assert ImportOperation.objects.get(pk=finished.pk).status == "importer_done"


def test_abort_action_called_from_a_projects_own_code_asks_for_confirmation(admin):
    """The action may be called outside the admin's URLs (a project's own view, a request
    built by hand: no resolved URL); the confirmation page does not depend on the URL."""
    operation = make_operation(status="importer_user_selection")
    request = RequestFactory().post("/elsewhere/", {"action": "abort_selected"})
    request.user = admin
    model_admin = django_admin.site.get_model_admin(ImportOperation)
    response = model_admin.abort_selected(request, ImportOperation.objects.filter(pk=operation.pk))
    page = response.render().content.decode()
    assert "Yes, abort" in page and reverse("admin:importops_importoperation_changelist") in page
    assert ImportOperation.objects.get(pk=operation.pk).status == "importer_user_selection"


def test_api_state_changes_appear_in_the_admin_history(api, staff_client):
    operation = api.post("import.new").json()["operation"]
    history = staff_client.get(reverse("admin:importops_importoperation_history", args=[operation["_id"]]))
    assert history.status_code == 200 and "Created a api import operation" in history.content.decode()


def test_abort_is_refused_for_finished_operations(staff_client):
    operation = make_operation(status="importer_done")
    response = staff_client.post(abort_url(operation), follow=True)
    assert "already finished" in response.content.decode()
    assert ImportOperation.objects.get(pk=operation.pk).status == "importer_done"


def test_api_user_without_staff_cannot_open_the_admin(runner):
    client = Client()
    client.force_login(runner)
    assert client.get(reverse("admin:importops_importoperation_changelist")).status_code == 302
    assert Api(runner).post("import.new").status_code == 200


@pytest.mark.urls("tests.second_admin_urls")
def test_a_second_admin_site_links_to_its_own_pages(staff_client, admin):
    operation = make_operation(user=admin)
    response = staff_client.get(f"/ops/importops/importoperation/{operation.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"/ops/importops/importoperation/{operation.pk}/abort/" in page
    assert f"/ops/importops/importoperation/{operation.pk}/progress/" in page
    assert "/ops/importops/importrecord/?operation__id__exact=" in page
    assert f"/admin/importops/importoperation/{operation.pk}/abort/" not in page
    response = staff_client.post(f"/ops/importops/importoperation/{operation.pk}/abort/")
    assert response.status_code == 302
    assert response["Location"] == f"/ops/importops/importoperation/{operation.pk}/change/"
