"""End-to-end on PostgreSQL with real worker processes: an update re-import, then an undo of
it running at the same time as another import of the same users, then importops_undo --wait."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model

from importops.models import ImportChange, ImportedIdentity, ImportOperation
from tests import test_e2e_worker
from tests.live import ROOT, Worker, process_env, wait_for
from tests.test_e2e_worker import stage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
worker_settings = test_e2e_worker.worker_settings  # the fixture, shared
User = get_user_model()
EMAIL = User.get_email_field_name()


def members(count: int, name: str = "Member {n}", *, renamed=range(0), deactivated=range(0)) -> list[dict]:
    users = []
    for n in range(count):
        user = {"emails": [f"m{n}@example.com"], "importIds": [f"m-{n}"], "username": f"m{n}"}
        user["name"] = f"Renamed {n}" if n in renamed else name.format(n=n)
        if n in deactivated:
            user["deleted"] = True
        users.append(user)
    return users


def status(operation_id: str) -> str:
    return ImportOperation.objects.get(pk=operation_id).status


def outcomes(operation_id: str) -> dict[str, int]:
    return ImportOperation.objects.with_progress().get(pk=operation_id).outcomes()


def test_update_then_undo_racing_another_import(api, worker_settings, tmp_path):
    worker_settings.IMPORTOPS = {**worker_settings.IMPORTOPS, "PARALLELISM": 1}  # one worker stays free
    # Small batches (and undo chunks): the undo and the third import interleave.
    workers = [Worker(tmp_path, "a", IMPORTOPS_BATCH_SIZE="10"), Worker(tmp_path, "b", IMPORTOPS_BATCH_SIZE="10")]
    try:
        first = stage(api, members(1000)).pk
        assert api.post("import.run").status_code == 200
        wait_for(lambda: status(first) == "importer_done", timeout=120, what="the first import")

        second = stage(api, members(1100, renamed=range(50), deactivated=range(50, 60))).pk
        assert api.post("import.run", {"existingUsers": "update"}).status_code == 200
        wait_for(lambda: status(second) == "importer_done", timeout=120, what="the update re-import")
        assert outcomes(second) == {"created": 100, "updated": 60, "skipped": 0, "unchanged": 940}

        # A third import renames everyone while the second one is undone: whichever touches a
        # user first, the third import's values win, and no user is lost or doubled. The undo
        # starts once the third import has updated some of the users the second one changed.
        third = stage(api, members(1100, "Third {n}")).pk
        assert api.post("import.run", {"existingUsers": "update"}).status_code == 200
        wait_for(lambda: outcomes(third)["updated"] >= 20, timeout=120, what="the third import to get going")
        response = api.post("import.undo", {"operationId": second})
        assert response.status_code == 200, response.content
        wait_for(lambda: status(third) == "importer_done", timeout=120, what="the third import")
        wait_for(lambda: status(second) == "importer_undone", timeout=120, what="the undo")
    finally:
        for worker in workers:
            worker.stop()
    for worker in workers:
        assert "Traceback" not in worker.output(), worker.output()

    rows = dict(User._default_manager.filter(**{f"{EMAIL}__startswith": "m"}).values_list(EMAIL, "pk"))
    assert sorted(rows) == sorted(f"m{n}@example.com" for n in range(1100))
    names = {u.get_full_name() for u in User._default_manager.filter(pk__in=rows.values())}
    assert names == {f"Third {n}" for n in range(1100)}
    assert User._default_manager.filter(pk__in=rows.values(), is_active=False).count() == 0
    identities = dict(ImportedIdentity.objects.filter(import_id__startswith="m-").values_list("import_id", "user_id"))
    assert identities == {f"m-{n}": rows[f"m{n}@example.com"] for n in range(1100)}
    counts = ImportOperation.objects.get(pk=second).undo_counts
    assert counts["total"] == counts["processed"] == 160
    assert counts["deleted"] + counts["reverted"] + counts["kept"] + counts["gone"] == 160
    # Both orders happened: users the third import changed first were kept, others undone first.
    assert counts["kept"] >= 20 and counts["deleted"] + counts["reverted"] > 0, counts
    assert not ImportChange.objects.filter(operation_id=second, undo="").exists()


def test_importops_undo_waits_for_the_worker(api, worker_settings, tmp_path):
    worker = Worker(tmp_path, "solo")
    try:
        operation = stage(api, members(300)).pk
        api.post("import.run")
        wait_for(lambda: status(operation) == "importer_done", timeout=120, what="the import")
        done = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "importops_undo", operation, "--mode", "deactivate", "--wait"],
            cwd=ROOT,
            env=process_env(IMPORTOPS_TASK_BACKEND="worker"),
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        worker.stop()
    assert done.returncode == 0, done.stderr
    assert "Undone: 0 deleted, 300 deactivated" in done.stdout
    assert User._default_manager.filter(**{f"{EMAIL}__startswith": "m"}, is_active=True).count() == 0
