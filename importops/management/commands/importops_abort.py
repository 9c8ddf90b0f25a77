"""Abort the latest (or a given) import operation."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from importops.management.choose import operation_or_latest
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
        actor = None
        if username:
            model = get_user_model()
            try:
                actor = model._default_manager.get_by_natural_key(username)
            except model.DoesNotExist as exc:
                raise CommandError(f"No user {username!r}.") from exc
        if not operations.operation_abort(operation=target, user=actor):
            raise CommandError(f"Operation {target.pk} has already finished ({target.state.label}).")
        self.stdout.write(f"Aborted operation {target.pk}.")
