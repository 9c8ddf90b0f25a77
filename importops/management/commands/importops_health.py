"""Health for orchestrators: exit 0 when ready, 1 with the reason otherwise."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from importops.services.health import readiness_problem


class Command(BaseCommand):
    help = (
        "Readiness: the database answers and every migration is applied (exit 0, else 1). "
        "With --worker FILE, liveness of an importops_worker started with --heartbeat FILE: "
        "it beat within --max-age seconds (a worker waiting out a database outage is alive)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--worker", metavar="FILE", help="the worker's --heartbeat file")
        parser.add_argument("--max-age", type=float, default=30.0, help="seconds (default: 30)")

    def handle(self, *args: Any, worker: str | None, max_age: float, **options: Any) -> None:
        if worker is not None:
            try:
                age = time.time() - Path(worker).stat().st_mtime
            except OSError as exc:
                raise CommandError(f"worker: no heartbeat ({exc.strerror}: {worker})") from exc
            if age > max_age:
                raise CommandError(f"worker: last heartbeat {age:.0f} s ago (more than {max_age:.0f} s)")
            self.stdout.write(f"worker alive (heartbeat {age:.0f} s ago)")
            return
        problem = readiness_problem()
        if problem is not None:
            raise CommandError(f"not ready: {problem}")
        self.stdout.write("ready: database reachable, migrations applied")
