"""Redis restarted mid-run, with real processes: a redis-server of the test's own (no
persistence, so the restart loses every queued task), gunicorn and two
``importops_rqworker`` processes on PostgreSQL. The run still ends done, every user exactly
once, counters exact, with no restart of the workers and no cron.

In the Redis leg of scripts/test.sh (``-m redis``); it does not touch that leg's Redis.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from importops.models import ImportLane
from tests.live import Process, RQWorker, Server, free_port, wait_for
from tests.test_e2e_faults import CREATED, Client, assert_exact, progress, stage, under_way

pytestmark = [pytest.mark.e2e, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

WORKER_ENV = {"IMPORTOPS_BATCH_SIZE": "5", "IMPORTOPS_LEASE_SECONDS": "3"}


class Redis:
    """redis-server on a free port, stopped and started again on that port by the test."""

    def __init__(self, tmp: Path) -> None:
        if shutil.which("redis-server") is None:
            pytest.fail("redis-server is not installed (scripts/redis.sh installs it)")
        self.tmp, self.port = tmp, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.server: Process | None = None
        self.starts = 0
        self.start()

    def answers(self) -> bool:
        ping = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True)
        return ping.stdout.strip() == "PONG"

    def start(self) -> None:
        self.starts += 1
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.server = Process(args, dict(os.environ), self.tmp / f"redis-{self.starts}.log")
        wait_for(self.answers, timeout=10, what="redis-server to answer")

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()  # SIGTERM: redis-server shuts down, saving nothing
            self.server = None

    def restart(self) -> None:
        """Stopped, down for two seconds, started again on the same port: empty."""
        self.stop()
        time.sleep(2)
        self.start()

    def queued(self) -> int:
        count = subprocess.run(["redis-cli", "-p", str(self.port), "llen", "rq:queue:default"], capture_output=True)
        return int(count.stdout or 0)


@pytest.fixture
def redis_server(tmp_path):
    server = Redis(tmp_path)
    yield server
    server.stop()


def test_redis_restarted_mid_run_loses_the_queue_and_the_run_still_ends_done(redis_server, admin, tmp_path):
    env = {"IMPORTOPS_TASK_BACKEND": "rq", "REDIS_URL_TEST": redis_server.url}
    server = Server(tmp_path, workers=2, threads=4, **env)
    workers: list[RQWorker] = []
    try:
        client = Client(server, admin)
        operation_id = stage(client, "rr")
        assert client.call("POST", "import.run")[0] == 200
        # 1. Redis restarts before any worker took the run's drain tasks: they are lost. The
        # workers are started while it is down: they wait for it.
        assert redis_server.queued() == 4
        redis_server.stop()
        workers = [RQWorker(tmp_path, f"rq{n}", **env, **WORKER_ENV) for n in range(2)]
        wait_for(lambda: all("Redis fault during the worker's start" in w.output() for w in workers), timeout=30)
        time.sleep(1)
        redis_server.start()
        assert redis_server.queued() == 0
        # No lane was ever leased: the workers' sweep resumes the run once a lease period passed.
        _, completed, _ = under_way(operation_id)
        assert completed < CREATED
        assert any(f"resumed run id={operation_id}" in worker.output() for worker in workers)
        # 2. Redis restarts mid-run: two drain tasks run (holding the four lanes), two queued are lost.
        assert redis_server.queued() == 2
        redis_server.restart()
        assert redis_server.queued() == 0
        assert_exact(operation_id, "rr")
        assert progress(operation_id)[0] == "importer_done"
        assert not ImportLane.objects.filter(operation_id=operation_id, finished=False).exists()
        # 3. Redis restarts while the workers wait for tasks: they wait for it, and carry on.
        before = [worker.output().count("Redis available again") for worker in workers]
        redis_server.restart()
        back = lambda: all(w.output().count("Redis available again") > n for w, n in zip(workers, before, strict=True))  # noqa: E731
        wait_for(back, timeout=30, what="the workers to reconnect")
        time.sleep(1)
        for worker in workers:
            assert worker.popen.poll() is None, "the worker exited:\n" + worker.output()
            log = worker.output()
            assert "Traceback" not in log, log
            # One line when Redis goes, one when it is back (per outage the workers saw): not
            # one per attempt.
            assert 2 <= log.count("Redis fault during") == log.count("Redis available again") <= 3, log
    finally:
        server.stop()
        for worker in workers:
            worker.stop()
            print(f"\n--- {worker.log_path.name} ---\n" + worker.output()[-3000:])
