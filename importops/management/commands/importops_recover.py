"""Resume (or fail) imports whose workers died. Safe to run from cron at any time."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from importops.tasks import recover


class Command(BaseCommand):
    help = (
        "Find import runs that no live worker holds (every lease expired) and queue them again, "
        "or fail them after IMPORTOPS['MAX_RESUMES'] resumes. importops_worker already does this "
        "at start and periodically; run this from cron when you use another worker command."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        acted = recover()
        if acted:
            self.stdout.write("Resumed or failed: " + ", ".join(acted))
        else:
            self.stdout.write("Nothing to recover.")
