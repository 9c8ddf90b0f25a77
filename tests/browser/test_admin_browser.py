"""The admin in a real browser: live progress without reloading, Abort, per-operation
permissions, dark mode, and no JavaScript errors on any page visited."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from guardian.shortcuts import assign_perm

from importops.models import ImportOperation
from importops.services import running, staging
from importops.tasks import enqueue
from tests.browser.conftest import ConsoleErrors
from tests.conftest import HAS_USERNAME, create_user
from tests.live import Server, Worker, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
User = get_user_model()
PASSWORD = "browser-secret-9"


def login(page, base: str, user) -> None:
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")


def staged_operation(admin, count: int, prefix: str) -> ImportOperation:
    from importops.services import operations

    operation = operations.operation_create(user=admin, importer_key="api", importer_name="api")
    staging.users_stage(
        operation_id=operation.pk,
        users=[{"emails": [f"{prefix}{n}@example.com"], "importIds": [f"{prefix}-{n}"]} for n in range(count)],
    )
    ImportOperation.objects.filter(pk=operation.pk).update(status="importer_user_selection")
    return operation


def created(prefix: str) -> int:
    return User._default_manager.filter(**{f"{User.get_email_field_name()}__startswith": prefix}).count()


def worker_idle() -> bool:
    from django_tasks_db.models import DBTaskResult

    return not DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).exists()


@pytest.fixture
def operator(db):
    extra = {User.get_email_field_name(): "operator@example.com"} if HAS_USERNAME else {}
    return User._default_manager.create_superuser(
        **{User.USERNAME_FIELD: "operator" if HAS_USERNAME else "operator@example.com"}, password=PASSWORD, **extra
    )


def test_operator_watches_progress_and_aborts(operator, settings, tmp_path, page, screenshots):
    settings.IMPORTOPS = {**settings.IMPORTOPS, "TASK_BACKEND": "worker", "PARALLELISM": 2}
    operation = staged_operation(operator, 4000, "live")
    server = Server(tmp_path)
    worker = Worker(tmp_path, "browser", IMPORTOPS_BATCH_SIZE="2", IMPORTOPS_DRAIN_THREADS="1")
    errors = ConsoleErrors()
    errors.watch(page)
    try:
        enqueue(running.run_start(user=operator))
        wait_for(lambda: created("live") > 0, timeout=60, what="the worker to start importing")

        login(page, server.url, operator)
        page.goto(f"{server.url}/admin/importops/importoperation/")
        assert page.locator(f"text={operation.pk}").count() == 1
        page.screenshot(path=str(screenshots / "operations-list.png"), full_page=True)

        page.click(f"a[href*='{operation.pk}']")
        page.wait_for_selector("#importops-progress")
        page.evaluate("window.__notReloaded = true")
        first = int(page.text_content("[data-field=completed]"))
        page.wait_for_function(
            f"Number(document.querySelector('[data-field=completed]').textContent) > {first}", timeout=20_000
        )
        assert page.evaluate("window.__notReloaded") is True  # updated in place
        assert re.match(r"^[\d.]+$", page.text_content("[data-field=rate]"))
        page.screenshot(path=str(screenshots / "operation-detail.png"), full_page=True)

        page.click("#importops-abort")
        page.wait_for_selector("#importops-confirm-abort")
        page.click("#importops-confirm-abort")
        page.wait_for_selector(".messagelist .success")
        assert "Aborted 1 import operation" in page.text_content(".messagelist")
        at_abort = created("live")
        assert page.text_content("[data-field=stateLabel]").strip() == "Canceled"
        assert page.locator("#importops-abort").count() == 0

        wait_for(worker_idle, timeout=60, what="the drain tasks to end")
        assert created("live") == at_abort < 4000
        operation.refresh_from_db()
        assert (operation.status, operation.valid) == ("importer_import_cancelled", True)
    finally:
        worker.stop()
        server.stop()
    assert errors == []


def test_staff_sees_only_permitted_operations_and_cannot_abort_others(operator, tmp_path, browser, screenshots):
    other = staged_operation(operator, 3, "other")
    mine = staged_operation(operator, 3, "mine")  # the valid one, ready: a "ready" badge
    guest = create_user("guest", password=PASSWORD, is_staff=True)
    assign_perm("importops.view_importoperation", guest, mine)
    assign_perm("importops.abort_importoperation", guest, mine)

    server = Server(tmp_path)
    context = browser.new_context(color_scheme="dark")
    page = context.new_page()
    errors = ConsoleErrors()
    errors.watch(page)
    try:
        login(page, server.url, guest)
        page.goto(f"{server.url}/admin/importops/importoperation/")
        rows = page.locator("#result_list tbody tr")
        assert rows.count() == 1 and mine.pk in rows.first.text_content()
        assert page.locator(f"text={other.pk}").count() == 0

        page.goto(f"{server.url}/admin/importops/importoperation/{mine.pk}/change/")
        assert page.locator("#importops-abort").count() == 1  # the object permission allows it
        page.screenshot(path=str(screenshots / "operation-detail-dark.png"), full_page=True)

        # Dark mode, through the admin's own colour variables.
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        channels = [int(c) for c in re.findall(r"\d+", background)[:3]]
        assert max(channels) < 80, background
        badge, expected = page.evaluate(
            """() => {
                const badge = document.querySelector('.importops-badge.importops-ready');
                const probe = document.createElement('span');
                probe.style.background = 'var(--secondary)';
                document.body.appendChild(probe);
                const expected = getComputedStyle(probe).backgroundColor;
                probe.remove();
                return [getComputedStyle(badge).backgroundColor, expected];
            }"""
        )
        assert badge == expected, (badge, expected)

        response = page.goto(f"{server.url}/admin/importops/importoperation/{other.pk}/abort/")
        assert response.status == 403
        assert ImportOperation.objects.get(pk=other.pk).status == "importer_user_selection"
    finally:
        context.close()
        server.stop()
    console = [e for e in errors if "403" not in e]  # the refused abort page itself
    assert console == []
