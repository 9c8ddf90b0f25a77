"""Send invitations (password-reset emails) to imported users without a password."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from importops.errors import InvitationsUnavailable
from importops.management.choose import operation_or_latest
from importops.services import invitations


class Command(BaseCommand):
    help = (
        "Email a set-your-password link (Django's password reset) to the active users an import "
        "created that have no usable password. Uses the project's email settings."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--operation", help="operation id (default: the latest operation)")
        parser.add_argument("--domain", required=True, help="host name the link points to, e.g. chat.example.com")
        parser.add_argument("--http", action="store_true", help="link with http:// instead of https://")
        parser.add_argument("--dry-run", action="store_true", help="only count who would be invited")

    def handle(self, *args: Any, operation: str | None, domain: str, http: bool, dry_run: bool, **options: Any) -> None:
        chosen = operation_or_latest(operation)
        if dry_run:
            self.stdout.write(f"Would invite {invitations.invitees(chosen).count()} user(s) of {chosen.pk}.")
            return
        try:
            sent = invitations.invitations_send(operation=chosen, actor=None, domain=domain, use_https=not http)
        except InvitationsUnavailable as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Sent {sent} invitation(s) for operation {chosen.pk}.")
