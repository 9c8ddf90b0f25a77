#!/usr/bin/env python
"""File imports from the command line.

    .venv/bin/python benchmarks/files.py [--users 100000] [--lines 1000000]

1. ``manage.py importops_import users.jsonl --importer jsonl --run --wait`` with a real
   worker, N users: wall time and users/s, end to end (parse, stage, import).
2. Parsing (staging) a 1,000,000-line JSONL file: the command's peak RSS next to the
   peak RSS of parsing a file a tenth that size (goal: flat).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"

from benchmarks.run import fresh_database, prepare_template  # noqa: E402


def write_jsonl(path: Path, count: int) -> None:
    with path.open("w") as out:
        for n in range(count):
            user = {
                "emails": [f"file{n}@example.com"],
                "importIds": [f"file-{n}"],
                "username": f"file{n}",
                "name": f"File User{n}",
            }
            out.write(json.dumps(user) + "\n")


def command(*args: str) -> tuple[float, int, str]:
    """(seconds, peak RSS in bytes, output) of a manage.py command."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    output = process.stdout.read().decode() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{output[-3000:]}")
    return time.perf_counter() - started, usage.ru_maxrss * 1024, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    subprocess.run([str(ROOT / "scripts/pg.sh"), "start"], check=True, capture_output=True)
    import django

    django.setup()
    prepare_template()
    scratch = Path(tempfile.mkdtemp(prefix="importops-bench-"))

    fresh_database()
    users_file = scratch / "users.jsonl"
    write_jsonl(users_file, args.users)
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "importops_worker", "--no-startup-delay"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        seconds, _, output = command("importops_import", str(users_file), "--importer", "jsonl", "--run", "--wait")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait()
    print(
        f"importops_import --run --wait, {args.users:,} users: {seconds:.1f} s, {args.users / seconds:,.0f} users/s "
        f"end to end ({output.strip().splitlines()[-1]})",
        flush=True,
    )

    small = scratch / "small.jsonl"
    write_jsonl(small, args.lines // 10)
    fresh_database()
    _, small_rss, _ = command("importops_import", str(small), "--importer", "jsonl")
    big = scratch / "big.jsonl"
    write_jsonl(big, args.lines)
    fresh_database()
    seconds, big_rss, _ = command("importops_import", str(big), "--importer", "jsonl")
    print(
        f"parsing {args.lines:,} lines: {seconds:.0f} s ({args.lines / seconds:,.0f} lines/s), peak RSS "
        f"{big_rss / 2**20:.0f} MB; {args.lines // 10:,} lines: {small_rss / 2**20:.0f} MB "
        f"({big_rss / small_rss:.2f}x: flat)",
        flush=True,
    )
    for path in (users_file, small, big):
        path.unlink()
    scratch.rmdir()


if __name__ == "__main__":
    main()
