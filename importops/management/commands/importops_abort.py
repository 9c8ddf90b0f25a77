"""Abort the latest (or a given) import operation."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from importops.management.choose import operation_or_latest, user_named
from importops.services import operations


class Command(BaseCommand):
    help = (
        "Abort an import operation that has not finished (it becomes canceled and stays valid; "
        "no user is created after this returns). --as USERNAME records who did it in the admin history."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--operation", help="operation id (default: the latest)")
        parser.add_argument("--as", dest="username", help="the user to record in the admin history")

    def handle(self, *args: Any, operation: str | None, username: str | None, **options: Any) -> None:
        target = operation_or_latest(operation)
        actor = user_named(username) if username else None
        if not operations.operation_abort(operation=target, user=actor):
            raise CommandError(f"Operation {target.pk} has already finished ({target.state.label}).")
        self.stdout.write(f"Aborted operation {target.pk}.")
