"""Concurrent import.new calls against a real HTTP server on PostgreSQL (docs/api.md, "One valid operation"):
all succeed, each returns a distinct operation, exactly one — the latest — stays valid."""

import json
import threading
import urllib.request

import pytest

from importops.models import AuthToken, ImportOperation
from tests.live import Server

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CALLS = 40


def test_concurrent_import_new_leaves_exactly_the_latest_valid(admin, tmp_path):
    _, raw = AuthToken.objects.issue(user=admin)
    server = Server(tmp_path, workers=4, threads=10)
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(CALLS)

    def call() -> None:
        request = urllib.request.Request(
            f"{server.url}/api/v1/import.new",
            method="POST",
            headers={"X-User-Id": str(admin.pk), "X-Auth-Token": raw},
        )
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                outcome = (response.status, json.loads(response.read()))
        except urllib.error.HTTPError as exc:
            outcome = (exc.code, json.loads(exc.read() or b"{}"))
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=call) for _ in range(CALLS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        server.stop()

    assert [status for status, _ in results] == [200] * CALLS, results
    ids = [body["operation"]["_id"] for _, body in results]
    assert len(set(ids)) == CALLS
    assert set(ImportOperation.objects.values_list("pk", flat=True)) == set(ids)
    valid = list(ImportOperation.objects.filter(valid=True))
    assert len(valid) == 1
    assert valid[0] == ImportOperation.objects.order_by("-ts").first()
    assert "Traceback" not in server.output()
