"""Create (or drop) the case-insensitive indexes importops' lookups use on the user table."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS

from importops.services import user_indexes


class Command(BaseCommand):
    help = (
        "Create the expression indexes on the folded (NFKC, lower-case) email and username of the user table, so "
        "an import costs the same into a large user table as into an empty one. Idempotent; on "
        "PostgreSQL built CONCURRENTLY (writes to the user table go on). --drop removes them."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--drop", action="store_true", help="drop the indexes this command created")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        using = options["database"]
        if options["drop"]:
            for index, dropped in user_indexes.drop(using):
                self.stdout.write(f"{'dropped' if dropped else 'absent:'} {index.name}")
            return
        for index, created in user_indexes.create(using):
            what = f"folded {index.column} on {index.table}"
            self.stdout.write(f"created {index.name}: {what}" if created else f"already indexed: {what}")
