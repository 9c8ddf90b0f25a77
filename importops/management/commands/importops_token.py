"""Mint a personal API token for a user and print it once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from importops.management.choose import user_named
from importops.models import AuthToken
from importops.models.token import TokenKind


class Command(BaseCommand):
    help = (
        "Create a personal API token for USERNAME and print it once (with the user id): use them "
        "as the X-User-Id and X-Auth-Token headers. Only the token's digest is stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="the user's login name (USERNAME_FIELD)")
        parser.add_argument("--name", default="command line", help="what the token is for")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        user = user_named(username)
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive.")
        token, raw = AuthToken.objects.issue(user=user, kind=TokenKind.PERSONAL, name=name)
        self.stdout.write(f"X-User-Id: {user.pk}")
        self.stdout.write(f"X-Auth-Token: {raw}")
        self.stderr.write(f"Expires {token.expires_at:%Y-%m-%d}. Shown once: it is not stored.")
