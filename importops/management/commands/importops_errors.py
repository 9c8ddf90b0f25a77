"""List the users an import could not create, with their codes (for fixing and re-importing)."""

from __future__ import annotations

import csv
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from importops.management.choose import operation_or_latest
from importops.models import ImportFailure

COLUMNS = ["importId", "email", "username", "code", "field", "value"]
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: a leading ' disarms formula prefixes (CSV injection)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


class Command(BaseCommand):
    help = (
        "List the users the latest (or a given) operation failed to create: importId, email, "
        "username, code, field, value. --format csv writes a CSV to fix and import again. "
        "Secrets are never part of it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--operation", help="operation id (default: the latest)")
        parser.add_argument("--format", choices=["text", "csv"], default="text")

    def handle(self, *args: Any, operation: str | None, format: str, **options: Any) -> None:
        target = operation_or_latest(operation)
        rows = (
            ImportFailure.objects.filter(operation=target)
            .order_by("id")
            .values_list("import_id", "email", "username", "code", "field", "value")
        )
        if format == "csv":
            writer = csv.writer(self.stdout)
            writer.writerow(COLUMNS)
            for row in rows.iterator():
                writer.writerow([cell(value) for value in row])
            return
        count = 0
        for import_id, email, username, code, field, value in rows.iterator():
            count += 1
            self.stdout.write(f"{import_id}\t{email or username}\t{code}" + (f"\t{field}={value}" if field else ""))
        self.stdout.write(f"{count} failed user(s) in operation {target.pk}.")
