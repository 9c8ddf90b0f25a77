"""The change report of an import: created, updated (field: old → new), skipped, failed, undone."""

from __future__ import annotations

import csv
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from importops.management.choose import operation_or_latest
from importops.services.report import COLUMNS, report_rows


class Command(BaseCommand):
    help = (
        "Write the change report of the latest (or a given) operation as CSV: one row per user it "
        "created, updated (field: old → new), skipped or failed, with what an undo did to it. "
        "Passwords and hashes are never part of it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--operation", help="operation id (default: the latest)")

    def handle(self, *args: Any, operation: str | None, **options: Any) -> None:
        writer = csv.writer(self.stdout)
        writer.writerow(COLUMNS)
        for row in report_rows(operation=operation_or_latest(operation)):
            writer.writerow(row)
