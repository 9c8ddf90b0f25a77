#!/usr/bin/env bash
# Start the demo: web server (gunicorn) and task worker, on 127.0.0.1:$PORT (default 8000).
#
# First run: creates .venv, installs, migrates, creates groups 'admin' and 'user' and the
# superuser 'admin' (password from DJANGO_SUPERUSER_PASSWORD, else generated and printed once).
# Database: SQLite under var/ unless DATABASE_URL=postgres://... is set. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_venv .venv "$(find_python 12)" requirements.txt
py=.venv/bin/python
port=${PORT:-8000}

$py manage.py migrate --noinput -v0
$py manage.py createcachetable
$py manage.py collectstatic --noinput -v0
$py manage.py demo_setup

pids=()
stop() {
  trap - EXIT INT TERM
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null
  wait 2>/dev/null
  exit 0
}
trap stop EXIT INT TERM

# The worker: the same command operators run in production (README, "Workers").
$py manage.py importops_worker &
pids+=($!)
# gunicorn's asgi worker (rcimport/gunicorn.conf.py says why): slow clients cannot starve it.
.venv/bin/gunicorn --config rcimport/gunicorn.conf.py --bind "127.0.0.1:$port" --no-control-socket \
  --access-logfile - &
pids+=($!)

cat <<TXT

  importops demo is running
    site:  http://127.0.0.1:$port/
    admin: http://127.0.0.1:$port/admin/   (user: admin)
    API:   http://127.0.0.1:$port/api/v1/   (log in: POST /api/v1/login)
  Ctrl-C stops the web server and the worker.

TXT
wait -n "${pids[@]}"
