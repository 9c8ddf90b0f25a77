"""Show the latest import operation (or follow it with --watch)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from importops.management.watch import follow
from importops.models import ImportOperation


class Command(BaseCommand):
    help = "Show the latest import operation: state, status, counts. --watch follows it with a progress bar."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--watch", action="store_true", help="follow it until it ends")

    def handle(self, *args: Any, watch: bool, **options: Any) -> None:
        operation = ImportOperation.objects.current()
        if operation is None:
            self.stdout.write("state: none (no import operation yet)")
            return
        completed, failed = operation.progress()
        self.stdout.write(
            f"operation {operation.pk} ({operation.type}), state {operation.state.value}, status {operation.status}\n"
            f"total {operation.count_total:,}, completed {completed:,}, error {failed:,}"
        )
        if operation.failure_reason:
            self.stdout.write(f"failure: {operation.failure_reason}")
        if watch:
            final = follow(operation.pk, self.stdout)
            done, errors = final.progress()
            self.stdout.write(f"{final.state.label}: {done:,} created, {errors:,} failed.")
