"""``manage.py importops_import users.jsonl --importer jsonl --run --wait`` on a terminal
(a pseudo-terminal), with a real worker: a moving progress bar, exit status 0."""

import os
import pty
import re
import subprocess
import sys

import pytest

from importops.models import ImportOperation
from tests.files import jsonl
from tests.live import ROOT, Worker, process_env

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def run_on_a_terminal(args, env, timeout=180):
    primary, secondary = pty.openpty()
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdin=secondary, stdout=secondary, stderr=secondary)
    os.close(secondary)
    output = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        output += chunk
    os.close(primary)
    return process.wait(timeout=timeout), output.decode(errors="replace")


def test_import_run_wait_draws_a_moving_bar(tmp_path):
    users = [{"emails": [f"tty{n}@example.com"], "importIds": [f"tty-{n}"]} for n in range(4000)]
    path = tmp_path / "users.jsonl"
    path.write_bytes(jsonl(users))
    env = {"IMPORTOPS_BATCH_SIZE": "20", "IMPORTOPS_TASK_BACKEND": "worker"}
    worker = Worker(tmp_path, "cli", **env)
    try:
        status, output = run_on_a_terminal(
            [sys.executable, "manage.py", "importops_import", str(path), "--importer", "jsonl", "--run", "--wait"],
            process_env(**env),
        )
    finally:
        worker.stop()
    assert status == 0, output
    percents = [int(p) for p in re.findall(r"importing \[[#.]+\]\s+(\d+)%", output)]
    assert len(set(percents)) >= 3 and percents == sorted(percents) and percents[-1] == 100, output[-2000:]
    assert "\r\x1b[K" in output  # redrawn in place
    assert "Done: 4,000 created, 0 failed." in output
    assert ImportOperation.objects.get(valid=True).status == "importer_done"
