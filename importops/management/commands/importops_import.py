"""Stage a file as a new import (and run it, and wait for it) from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from importops.errors import ImportOpsError
from importops.importers import registry
from importops.management.progress import ProgressBar
from importops.management.watch import follow
from importops.models import ImportOperation
from importops.models.operation import ExistingUsers
from importops.services import intake, parsing, running
from importops.states import Status
from importops.tasks import enqueue


class Command(BaseCommand):
    help = (
        "Stage FILE as a new import operation (this replaces and stops the current one, like "
        "import.new), parsing it here with a progress bar. --run starts the import (a worker "
        "runs it: python manage.py importops_worker); --wait follows it to the end with a "
        "progress bar and exits non-zero unless it ends done."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the file: a CSV ZIP, a users.csv, a Slack member list, a .jsonl")
        keys = [i.key for i in registry.listed()]
        parser.add_argument("--importer", required=True, choices=keys, help="the file's format")
        parser.add_argument("--run", action="store_true", help="start the import once the file is staged")
        parser.add_argument("--wait", action="store_true", help="with --run: wait until the import ends")
        parser.add_argument("--timeout", type=float, default=None, help="with --wait: give up after this many seconds")
        parser.add_argument(
            "--existing-users",
            choices=ExistingUsers.values,
            default=ExistingUsers.FAIL,
            help="with --run: fail, skip or update users who already exist (default: fail)",
        )
        parser.add_argument("--update-passwords", action="store_true", help="with update: replace passwords too")

    def handle(
        self,
        *args: Any,
        file: Path,
        importer: str,
        run: bool,
        wait: bool,
        timeout: float | None,
        existing_users: str,
        update_passwords: bool,
        **options: Any,
    ) -> None:
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        bar = ProgressBar(self.stdout, label="staging")
        try:
            with file.open("rb") as content:
                operation = intake.file_upload(
                    user=None,
                    importer_key=importer,
                    file_name=file.name,
                    content_type="",
                    content=content,
                    local=True,
                ).operation
            parsing.file_parse(operation_id=operation.pk, on_progress=lambda staged: bar.update(staged, None))
        except ImportOpsError as exc:
            raise CommandError(exc.message) from exc
        operation = ImportOperation.objects.get(pk=operation.pk)
        if operation.status != Status.USER_SELECTION:
            bar.finish()
            raise CommandError(f"The file could not be staged: {operation.failure_reason or operation.status}")
        bar.finish(f"Staged {operation.count_users:,} users in operation {operation.pk}.")
        if not run:
            self.stdout.write("Start it with --run, import.run, or the admin.")
            return
        try:
            enqueue(running.run_start(user=None, existing_users=existing_users, update_passwords=update_passwords))
        except ImportOpsError as exc:
            raise CommandError(exc.message) from exc
        if not wait:
            self.stdout.write("Started: a worker runs it. Follow it with: python manage.py importops_status --watch")
            return
        final = follow(operation.pk, self.stdout, timeout=timeout)
        _, failed = final.progress()
        outcomes = final.outcomes()
        done = ", ".join(f"{outcomes[name]:,} {name}" for name in outcomes if name == "created" or outcomes[name])
        summary = f"{final.state.label}: {done}, {failed:,} failed."
        if final.status != Status.DONE:
            raise CommandError(summary + (f" {final.failure_reason}" if final.failure_reason else ""))
        self.stdout.write(summary + (" List them with: python manage.py importops_errors" if failed else ""))
