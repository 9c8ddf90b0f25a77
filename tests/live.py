"""Real processes for end-to-end tests: a gunicorn server and importops workers, both
connected to the test database (PostgreSQL)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def require_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.fail("end-to-end tests need PostgreSQL: set DATABASE_URL (scripts/test.sh does)")


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def process_env(**extra: str) -> dict[str, str]:
    require_postgresql()
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], Any], *, timeout: float = 60, interval: float = 0.05, what: str = "") -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")


class Process:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log_path = log
        self._log = log.open("wb")
        self.popen = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            self.popen.wait(timeout=30)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)
        self._log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


class Server(Process):
    """gunicorn serving the test project on 127.0.0.1: threaded WSGI workers, or (``demo``)
    the demo's own setup, ``rcimport/gunicorn.conf.py``, as ``scripts/run.sh`` starts it."""

    def __init__(self, tmp: Path, *, workers: int = 2, threads: int = 8, demo: bool = False, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--no-control-socket"]
        if demo:
            args += ["--config", "rcimport/gunicorn.conf.py"]
        else:
            args += ["rcimport.wsgi", "--workers", str(workers), "--threads", str(threads), "--timeout", "120"]
        super().__init__(args, process_env(**env), tmp / f"gunicorn-{self.port}.log")
        wait_for(self._ready, timeout=60, what=f"gunicorn on {self.url}")

    def _ready(self) -> bool:
        if self.popen.poll() is not None:
            raise AssertionError("gunicorn exited:\n" + self.output())
        try:
            urllib.request.urlopen(f"{self.url}/api/v1/me", timeout=2)  # noqa: S310
        except urllib.error.HTTPError as exc:
            return exc.code == 401
        except OSError:
            return False
        return False


class Worker(Process):
    """``manage.py importops_worker`` — the command the README documents for operators."""

    def __init__(self, tmp: Path, name: str, *extra_args: str, **env: str) -> None:
        args = [
            sys.executable,
            "manage.py",
            "importops_worker",
            "--backend",
            "worker",
            "--interval",
            "0.1",
            "--no-startup-delay",
            "--worker-id",
            name,
            *extra_args,
        ]
        env = {"IMPORTOPS_TASK_BACKEND": "worker", "IMPORTOPS_LOG_LEVEL": "INFO", **env}
        super().__init__(args, process_env(**env), tmp / f"worker-{name}.log")


class RQWorker(Process):
    """``manage.py importops_rqworker`` — the Redis + RQ worker the README documents."""

    def __init__(self, tmp: Path, name: str, **env: str) -> None:
        args = [sys.executable, "manage.py", "importops_rqworker", "--name", name]
        env = {"IMPORTOPS_TASK_BACKEND": "rq", "IMPORTOPS_LOG_LEVEL": "INFO", **env}
        super().__init__(args, process_env(**env), tmp / f"rqworker-{name}.log")
