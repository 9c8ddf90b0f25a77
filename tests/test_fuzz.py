"""The schema-driven fuzzer: schemathesis generates requests from the served OpenAPI schema
(valid and invalid bodies, query strings, every documented media type) against a real gunicorn
on PostgreSQL with a real worker, as a holder of run-import and as a logged-in user without
it. Every answer must be documented (status, body, content type) and none may be a 500."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from importops.models import AuthToken
from tests.conftest import grant
from tests.live import Server, Worker, process_env

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db(transaction=True)]

CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"
EXAMPLES = os.environ.get("IMPORTOPS_FUZZ_EXAMPLES", "100")
SEED = os.environ.get("IMPORTOPS_FUZZ_SEED", "20261129")


def fuzz(server: Server, user, tmp_path: Path) -> str:
    _, token = AuthToken.objects.issue(user=user, name="fuzzer")
    args = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{server.url}/api/v1/schema",
        "--checks",
        CHECKS,
        "--header",
        f"X-User-Id: {user.pk}",
        "--header",
        f"X-Auth-Token: {token}",
        "--max-examples",
        EXAMPLES,
        "--seed",
        SEED,
        "--phases",
        "examples,coverage,fuzzing",
        "--exclude-operation-id",
        "logout",  # it would revoke the fuzzer's own token: every later answer a 401
        "--workers",
        "2",
        "--request-timeout",
        "60",
        "--no-color",
        "--generation-database",
        "none",
    ]
    env = {**process_env(), "SCHEMATHESIS_HOOKS": ""}
    result = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    output = result.stdout + result.stderr
    print(output[-4000:])
    assert result.returncode == 0, output[-20000:]  # any failed check fails the run
    assert re.search(r"\d+ generated, \d+ passed", output), output[-4000:]
    return output


def test_fuzzer_finds_no_server_error_and_no_undocumented_answer(runner, plain, tmp_path):
    worker = Worker(tmp_path, "fuzz")
    server = Server(tmp_path, demo=True, IMPORTOPS_TASK_BACKEND="worker")  # as scripts/run.sh serves
    try:
        fuzz(server, grant(runner, "view_importoperation"), tmp_path)
        fuzz(server, plain, tmp_path)
    finally:
        server.stop()
        worker.stop()
    for process in (server, worker):
        assert "Traceback" not in process.output(), process.output()[-10000:]
