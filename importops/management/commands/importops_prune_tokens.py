"""Delete expired and revoked API tokens (housekeeping, never done on the request path)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from importops.models import AuthToken


class Command(BaseCommand):
    help = "Delete expired and revoked API tokens. Run it from cron, like clearsessions."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted, _ = AuthToken.objects.dead().delete()
        self.stdout.write(f"Deleted {deleted} token(s).")
