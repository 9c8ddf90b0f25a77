"""Redis + RQ end to end (the Redis leg of scripts/test.sh: PostgreSQL, a real redis-server,
``manage.py importops_rqworker`` processes, gunicorn servers sharing Redis as their cache)."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import urllib.error
import urllib.request

import pytest
from django.contrib.auth import get_user_model

from importops.models import ImportedIdentity, ImportLane, ImportRecord
from tests.conftest import create_user
from tests.live import RQWorker, Server, Worker, wait_for
from tests.test_e2e_worker import abort_mid_run, dataset, imported_users, outcome, progress, stage

pytestmark = [pytest.mark.e2e, pytest.mark.redis, pytest.mark.django_db(transaction=True)]
User = get_user_model()


@pytest.fixture(autouse=True)
def redis():
    """The test's Redis, emptied: no job or counter left over from another test."""
    import redis as redis_client

    url = os.environ.get("REDIS_URL_TEST")
    if not url:
        pytest.fail("Redis tests need a Redis server: set REDIS_URL_TEST (scripts/test.sh does)")
    connection = redis_client.Redis.from_url(url)
    connection.flushdb()
    yield connection
    connection.flushdb()


@pytest.fixture
def rq_settings(settings):
    settings.IMPORTOPS = {**settings.IMPORTOPS, "TASK_BACKEND": "rq", "PARALLELISM": 4}
    return settings


def rq_idle() -> bool:
    import django_rq

    queue = django_rq.get_queue("default")
    return queue.count == 0 and queue.started_job_registry.count == 0


def expected_failures(count: int) -> int:
    return sum(1 for n in range(count) if n % 50 == 49 or n % 70 == 69 or n % 90 == 89)


def test_sigkill_of_one_of_two_rq_workers_ends_done_like_the_database_backend(api, rq_settings, tmp_path):
    env = {"IMPORTOPS_BATCH_SIZE": "20", "IMPORTOPS_LEASE_SECONDS": "3"}
    # The same users through the database backend and one worker: the reference outcome.
    rq_settings.IMPORTOPS = {**rq_settings.IMPORTOPS, "TASK_BACKEND": "worker"}
    reference = stage(api, dataset("db", 2000))
    database_worker = Worker(tmp_path, "db", **env)
    try:
        api.post("import.run")
        wait_for(lambda: progress(reference)[0] == "importer_done", timeout=180, what="the database-backend run")
    finally:
        database_worker.stop()

    rq_settings.IMPORTOPS = {**rq_settings.IMPORTOPS, "TASK_BACKEND": "rq"}
    operation = stage(api, dataset("rq", 2000))
    doomed, survivor = RQWorker(tmp_path, "doomed", **env), RQWorker(tmp_path, "survivor", **env)
    try:
        assert api.post("import.run").status_code == 200
        # Kill "doomed" once it holds a lane and the run has got going.
        wait_for(lambda: "took lane" in doomed.output(), timeout=60, what="the doomed worker to take a lane")
        wait_for(lambda: progress(operation)[1] >= 200, timeout=60, what="the run to get going")
        doomed.kill(signal.SIGKILL)
        status, completed_at_kill, _ = progress(operation)
        assert status == "importer_importing_users" and completed_at_kill < 1900
        taken = {int(n) for n in re.findall(rf"took lane (\d+) of run {operation.pk}", doomed.output())}
        orphaned = set(
            ImportLane.objects.filter(operation=operation, number__in=taken, finished=False).values_list(
                "number", flat=True
            )
        )
        assert orphaned, "the killed worker held no unfinished lane"
        # No restart, no cron: the survivor takes the dead worker's lanes over.
        wait_for(lambda: progress(operation)[0] == "importer_done", timeout=180, what="the RQ run to finish")
    finally:
        survivor.stop()
        doomed.stop()

    assert outcome("rq") == outcome("db")
    failures = expected_failures(2000)
    created = imported_users("rq")
    assert created.count() == 2000 - failures
    assert ImportedIdentity.objects.filter(operation=operation).count() == created.count()
    assert ImportRecord.objects.filter(operation=operation, failed=False).count() == 0
    assert ImportRecord.objects.filter(operation=operation, failed=True).count() == failures
    assert progress(operation)[1:] == progress(reference)[1:] == (2000 - failures, failures)
    lanes = ImportLane.objects.filter(operation=operation)
    assert lanes.count() == 4 and not lanes.filter(finished=False).exists()
    # The survivor finished what the killed worker left: it took the records the killed
    # worker had not committed (from the pool, or by taking its lane once the lease lapsed),
    # and the killed worker's lanes are finished (above) whichever way.
    assert f"of run {operation.pk}" in survivor.output(), survivor.output()
    assert "Traceback" not in survivor.output(), survivor.output()


def test_abort_during_an_rq_run_creates_no_user_after_it_returns(api, admin, rq_settings, tmp_path):
    workers = [RQWorker(tmp_path, f"w{n}", IMPORTOPS_BATCH_SIZE="10") for n in range(2)]
    try:
        abort_mid_run(api, admin, idle=rq_idle)
    finally:
        for worker in workers:
            worker.stop()
    for worker in workers:
        assert "Traceback" not in worker.output(), worker.output()


def test_sigterm_hands_the_lane_back_and_another_rq_worker_finishes(api, rq_settings, tmp_path):
    rq_settings.IMPORTOPS = {**rq_settings.IMPORTOPS, "PARALLELISM": 1}
    operation = stage(api, dataset("t", 2000))
    env = {"IMPORTOPS_BATCH_SIZE": "10", "IMPORTOPS_LEASE_SECONDS": "2"}
    first = RQWorker(tmp_path, "deployed", **env)
    api.post("import.run")
    wait_for(lambda: progress(operation)[1] >= 100, timeout=60, what="the run to get going")
    first.popen.send_signal(signal.SIGTERM)
    first.popen.wait(timeout=15)  # after one batch, not after the whole run
    assert "handing lane 0" in first.output()
    second = RQWorker(tmp_path, "next", **env)
    try:
        wait_for(lambda: progress(operation)[0] == "importer_done", timeout=120, what="the run to finish")
    finally:
        second.stop()
    assert progress(operation)[1:] == (2000 - expected_failures(2000), expected_failures(2000))


# -- limits shared by web servers ------------------------------------------------------


def _call(url: str, *, data: dict | None = None, headers: dict | None = None) -> int:
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_two_web_servers_on_one_redis_share_one_rate_limit_and_one_login_limit(tmp_path, db):
    env = {"TEST_CACHE": "redis", "IMPORTOPS_RATE_LIMIT": "40", "IMPORTOPS_LOGIN_MAX_FAILURES_PER_USER": "6"}
    servers = [Server(tmp_path, workers=2, threads=8, **env), Server(tmp_path, workers=2, threads=8, **env)]
    try:
        user = create_user("limited")
        from importops.models import AuthToken

        _, raw = AuthToken.objects.issue(user=user)
        headers = {"X-User-Id": str(user.pk), "X-Auth-Token": raw}

        # 100 requests at once, half on each server (16 threads): exactly the limit pass.
        statuses: list[int] = []
        lock = threading.Lock()

        def client(n: int) -> None:
            for i in range(n, 100, 16):
                status = _call(f"{servers[i % 2].url}/api/v1/me", headers=headers)
                with lock:
                    statuses.append(status)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(statuses) == 100
        assert statuses.count(200) == 40 and statuses.count(429) == 60, sorted(statuses)

        # Wrong passwords, alternating servers: 6 failures in all, then 429 on both.
        login = {"user": "limited", "password": "wrong"}
        codes = [_call(f"{servers[n % 2].url}/api/v1/login", data=login) for n in range(10)]
        assert codes == [401] * 6 + [429] * 4, codes
    finally:
        for server in servers:
            server.stop()
