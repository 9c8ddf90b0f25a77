"""The command line: importops_import (with its progress bar), status, abort, errors."""

import csv
import io
import signal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError, OutputWrapper

from importops.management.commands import importops_worker
from importops.management.progress import ProgressBar
from importops.models import ImportOperation
from tests.conftest import create_user
from tests.files import jsonl

pytestmark = pytest.mark.django_db(transaction=True)  # the inline backend runs on commit


def users_file(tmp_path, count, *, broken=()):
    users = [
        {"emails": [f"cli{n}@example.com"], "importIds": [f"cli-{n}"], "username": f"cli{n}"} for n in range(count)
    ]
    for n in broken:
        users[n]["emails"] = ["not-an-email"]
    path = tmp_path / "users.jsonl"
    path.write_bytes(jsonl(users))
    return path


def test_import_run_wait_then_errors(tmp_path):
    path = users_file(tmp_path, 3000, broken=(5, 2999))
    out = io.StringIO()
    call_command("importops_import", str(path), "--importer", "jsonl", "--run", "--wait", stdout=out)
    text = out.getvalue()
    assert "Staged 3,000 users" in text and "Done: 2,998 created, 2 failed." in text
    operation = ImportOperation.objects.get(valid=True)
    assert operation.status == "importer_done"

    errors = io.StringIO()
    call_command("importops_errors", stdout=errors)
    lines = errors.getvalue().splitlines()
    assert lines[-1] == f"2 failed user(s) in operation {operation.pk}."
    assert [line.split("\t")[0] for line in lines[:-1]] == ["cli-5", "cli-2999"]

    as_csv = io.StringIO()
    call_command("importops_errors", "--format", "csv", stdout=as_csv)
    rows = list(csv.reader(io.StringIO(as_csv.getvalue())))
    assert rows[0] == ["importId", "email", "username", "code", "field", "value"]
    assert rows[1] == ["cli-5", "not-an-email", "cli5", "importer-user-invalid-email", "emails", "not-an-email"]


def test_import_stage_only_and_status(tmp_path):
    path = users_file(tmp_path, 10)
    out = io.StringIO()
    call_command("importops_import", str(path), "--importer", "jsonl", stdout=out)
    assert "Staged 10 users" in out.getvalue()
    status = io.StringIO()
    call_command("importops_status", stdout=status)
    assert "state ready, status importer_user_selection" in status.getvalue()
    assert "total 10, completed 0, error 0" in status.getvalue()


def test_import_of_a_bad_file_fails_the_command(tmp_path):
    path = tmp_path / "users.jsonl"
    path.write_bytes(b'{"emails": ["a@example.com"], "importIds": ["a"]}\nnot json\n')
    with pytest.raises(CommandError, match="users.jsonl line 2: not valid JSON"):
        call_command("importops_import", str(path), "--importer", "jsonl", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No such file"):
        call_command("importops_import", str(tmp_path / "missing.jsonl"), "--importer", "jsonl")


def test_abort_command_records_who(tmp_path):
    from django.contrib.admin.models import LogEntry

    path = users_file(tmp_path, 5)
    call_command("importops_import", str(path), "--importer", "jsonl", stdout=io.StringIO())
    operator = create_user("operator")
    out = io.StringIO()
    call_command("importops_abort", "--as", operator.get_username(), stdout=out)
    operation = ImportOperation.objects.get(valid=True)
    assert operation.state == "canceled" and "Aborted operation" in out.getvalue()
    assert LogEntry.objects.filter(object_id=operation.pk, user=operator, change_message="Aborted").exists()
    with pytest.raises(CommandError, match="already finished"):
        call_command("importops_abort")


def test_progress_bar_redraws_on_a_terminal_and_prints_lines_otherwise():
    terminal = io.StringIO()
    bar = ProgressBar(terminal, label="importing", tty=True)
    for done in (0, 50, 100):
        bar.update(done, 100)
    bar.finish()
    frames = terminal.getvalue().split("\r\033[K")[1:]
    assert [frame.split("]")[1].split()[0] for frame in frames] == ["0%", "50%", "100%"]
    assert "[" + "#" * 15 + "." * 15 + "]" in frames[1]

    plain = io.StringIO()
    bar = ProgressBar(plain, label="importing", tty=False)
    for done in (0, 50, 100):
        bar.update(done, 100)
    assert "\r" not in plain.getvalue() and plain.getvalue().count("\n") == 2  # first line, then the last


def test_progress_bar_redraws_in_place_through_a_commands_stdout():
    """Commands give the bar their stdout, an OutputWrapper that ends every write with a
    newline unless told otherwise: a redraw must stay on its line."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    bar = ProgressBar(OutputWrapper(terminal), label="importing")
    for done in (0, 50, 100):
        bar.update(done, 100)
    bar.finish("done")
    assert terminal.getvalue().count("\r\033[K") == 3
    assert terminal.getvalue().count("\n") == 2  # after the bar, after the message


def test_local_files_are_not_held_to_the_upload_limit(tmp_path, settings):
    settings.IMPORTOPS = {**settings.IMPORTOPS, "MAX_UPLOAD_SIZE": 100}
    path = users_file(tmp_path, 20)
    assert path.stat().st_size > 100
    out = io.StringIO()
    call_command("importops_import", str(path), "--importer", "jsonl", stdout=out)
    assert "Staged 20 users" in out.getvalue()


def test_worker_command_builds_its_own_worker_and_leaves_django_tasks_db_alone(monkeypatch):
    """importops_worker runs importops' Worker (which hands lanes back on SIGTERM) with
    db_worker's options, without replacing django-tasks-db's Worker for anyone else."""
    library_worker = importops_worker.db_worker.Worker
    seen = {}

    def run(worker):
        seen.update(worker=worker, library_worker=importops_worker.db_worker.Worker)

    monkeypatch.setattr(importops_worker, "sweep_once", lambda: seen.setdefault("swept", True))
    monkeypatch.setattr(importops_worker.Worker, "configure_signals", lambda worker: None)
    monkeypatch.setattr(importops_worker.Worker, "run", run)
    call_command("importops_worker", "--backend", "worker", "--queue-name", "imports", "--max-tasks", "3")
    worker = seen["worker"]
    assert type(worker) is importops_worker.Worker and seen["swept"]
    assert seen["library_worker"] is library_worker is importops_worker.db_worker.Worker
    assert (worker.queue_names, worker.max_tasks, worker.backend_name) == (["imports"], 3, "worker")
    with pytest.raises(CommandError, match="does not reload"):
        call_command("importops_worker", "--backend", "worker", "--reload")


def test_worker_hands_lanes_back_on_sigterm(monkeypatch):
    stopping = importops_worker.STOPPING
    monkeypatch.setattr(stopping, "set", lambda: seen.append("stopping"))
    seen: list[str] = []
    worker = importops_worker.Worker(
        queue_names=["default"],
        excluded_queue_names=[],
        interval=1,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test",
    )
    worker.running_task = True  # mid-task: the library lets it finish instead of exiting
    worker.shutdown(signal.SIGTERM, None)
    assert seen == ["stopping"] and worker.running is False
