"""Browser tests: headless Chromium (the system's; Playwright cannot download browsers here)
driven by Playwright, against a real gunicorn server and worker on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the tests still read the
# database synchronously between browser steps. Test-only.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    for candidate in (os.environ.get("CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail("Chromium not found: scripts/install-chromium.sh installs it (or set CHROMIUM)")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": chromium_path(), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Screenshots go outside the repository."""
    folder = Path(os.environ.get("IMPORTOPS_SCREENSHOTS", Path(tempfile.gettempdir()) / "importops-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class ConsoleErrors(list):
    """JavaScript errors and failed requests reported by the pages of one context."""

    def watch(self, page) -> None:
        page.on("console", lambda msg: self.append(f"console: {msg.text}") if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.append(f"pageerror: {exc}"))
