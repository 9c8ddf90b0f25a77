"""Per-operation permissions (django-guardian): who sees and may abort which operation."""

import pytest
from django.test import Client
from django.urls import reverse
from guardian.shortcuts import assign_perm

from importops.models import ImportOperation
from tests.conftest import Api, create_user, grant, users_payload

pytestmark = pytest.mark.django_db

LIST = "admin:importops_importoperation_changelist"


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def make_ops(api, count):
    ids = []
    for _ in range(count):
        ids.append(api.post("import.new").json()["operation"]["_id"])
    return [ImportOperation.objects.get(pk=pk) for pk in ids]


def test_creator_holds_view_and_abort_on_their_operation(runner):
    operation_id = Api(runner).post("import.new").json()["operation"]["_id"]
    operation = ImportOperation.objects.get(pk=operation_id)
    assert runner.has_perm("importops.view_importoperation", operation)
    assert runner.has_perm("importops.abort_importoperation", operation)
    assert not runner.has_perm("importops.view_importoperation")  # not globally


def test_staff_with_object_permission_sees_exactly_those(api, db):
    first, second, third = make_ops(api, 3)
    staff = create_user("staff", is_staff=True)
    assign_perm("importops.view_importoperation", staff, first)
    assign_perm("importops.abort_importoperation", staff, third)
    client = client_for(staff)
    page = client.get(reverse(LIST)).content.decode()
    assert first.pk in page and third.pk in page and second.pk not in page
    assert client.get(reverse("admin:importops_importoperation_change", args=[first.pk])).status_code == 200
    hidden = client.get(reverse("admin:importops_importoperation_change", args=[second.pk]))
    assert hidden.status_code == 302  # the admin's "does not exist" redirect: not even its existence shows
    assert "importops" in client.get(reverse("admin:index")).content.decode()


def test_staff_without_any_permission_sees_nothing(api, db):
    make_ops(api, 1)
    staff = create_user("nobody", is_staff=True)
    client = client_for(staff)
    assert client.get(reverse(LIST)).status_code == 403
    assert "Import operations" not in client.get(reverse("admin:index")).content.decode()


def test_abort_needs_abort_permission_globally_or_on_the_operation(api, db):
    first, second = make_ops(api, 2)
    ImportOperation.objects.filter(pk__in=[first.pk, second.pk]).update(status="importer_importing_users")
    staff = create_user("aborter", is_staff=True)
    assign_perm("importops.view_importoperation", staff, first)
    assign_perm("importops.view_importoperation", staff, second)
    assign_perm("importops.abort_importoperation", staff, second)
    client = client_for(staff)
    assert client.post(reverse("admin:importops_importoperation_abort", args=[first.pk])).status_code == 403
    assert client.post(reverse("admin:importops_importoperation_abort", args=[second.pk])).status_code == 302
    assert ImportOperation.objects.get(pk=first.pk).status == "importer_importing_users"
    assert ImportOperation.objects.get(pk=second.pk).status == "importer_import_cancelled"
    # The bulk action refuses the whole selection when one of them is not abortable.
    response = client.post(
        reverse(LIST), {"action": "abort_selected", "_selected_action": [first.pk], "confirmed": "yes"}
    )
    assert response.status_code == 403


def test_global_abort_permission(api, db):
    (operation,) = make_ops(api, 1)
    ImportOperation.objects.filter(pk=operation.pk).update(status="importer_importing_users")
    staff = grant(create_user("global", is_staff=True), "view_importoperation", "abort_importoperation")
    response = client_for(staff).post(reverse("admin:importops_importoperation_abort", args=[operation.pk]))
    assert response.status_code == 302
    assert ImportOperation.objects.get(pk=operation.pk).status == "importer_import_cancelled"


def test_object_permissions_page_for_admins(api, admin):
    (operation,) = make_ops(api, 1)
    response = client_for(admin).get(reverse("admin:importops_importoperation_permissions", args=[operation.pk]))
    assert response.status_code == 200


def test_staged_records_follow_the_operation_permissions(api, db):
    first, second = make_ops(api, 2)
    api.post("import.addUsers", users_payload(2))  # into the latest (second)
    staff = create_user("reader", is_staff=True)
    assign_perm("importops.view_importoperation", staff, first)
    client = client_for(staff)
    url = reverse("admin:importops_importrecord_changelist")
    assert client.get(f"{url}?operation__id__exact={second.pk}").content.decode().count("u0@example.com") == 0
    assign_perm("importops.view_importoperation", staff, second)
    assert "u0@example.com" in client.get(f"{url}?operation__id__exact={second.pk}").content.decode()


def test_object_permissions_button_only_for_those_who_may_use_it(api, admin):
    (operation,) = make_ops(api, 1)
    url = reverse("admin:importops_importoperation_change", args=[operation.pk])
    assert "Object permissions" in client_for(admin).get(url).content.decode()
    staff = create_user("viewer", is_staff=True)
    assign_perm("importops.view_importoperation", staff, operation)
    page = client_for(staff).get(url).content.decode()
    assert "Object permissions" not in page and "History" in page
