"""The demo is deployable as the README says: ``check --deploy`` passes with the variables of
its "The demo in production" block, read from the README itself."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys

from tests.live import ROOT


def production_environment() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("### The demo in production", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    found = dict(re.findall(r"^export (\w+)=(.*)$", block, re.MULTILINE))
    assert {"DJANGO_SECRET_KEY", "DJANGO_HTTPS", "DJANGO_EMAIL_HOST"} <= set(found)
    found["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(60)
    return {name: value.strip("'") for name, value in found.items()}


def test_check_deploy_passes_with_the_readmes_production_variables(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        **production_environment(),
        "DJANGO_SETTINGS_MODULE": "rcimport.settings",
        "IMPORTOPS_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
