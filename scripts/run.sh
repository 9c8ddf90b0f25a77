#!/usr/bin/env bash
# Start the demo: web server (gunicorn) and task worker, on 127.0.0.1:$PORT (default 8000).
#
# First run: creates .venv, installs, migrates, creates groups 'admin' and 'user' and the
# superuser 'admin' (password from DJANGO_SUPERUSER_PASSWORD, else generated and printed once).
# Database: SQLite under var/ unless DATABASE_URL=postgres://... is set. Ctrl-C stops both.
#
# WORKERS: worker processes (default 1). TASK_BACKEND=rq: tasks on Redis + RQ, and Redis as the
# cache, at REDIS_URL (default redis://127.0.0.1:6379/0); when nothing answers there, a local
# redis-server is started on that port (installed first if missing) and stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_venv .venv "$(find_python 12)" requirements.txt
py=.venv/bin/python
port=${PORT:-8000}
workers=${WORKERS:-1}
backend=${TASK_BACKEND:-database}
export TASK_BACKEND=$backend

started_redis=
if [ "$backend" = rq ]; then
  export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
  if ! $py -c 'import os, redis; redis.Redis.from_url(os.environ["REDIS_URL"]).ping()' 2>/dev/null; then
    redis_port=$($py -c 'import os, urllib.parse; print(urllib.parse.urlsplit(os.environ["REDIS_URL"]).port or 6379)')
    echo "nothing answers at $REDIS_URL: starting a local redis-server on port $redis_port" >&2
    REDIS_PORT_TEST=$redis_port scripts/redis.sh start >/dev/null
    started_redis=$redis_port
  fi
  worker_command=importops_rqworker
elif [ "$backend" = database ]; then
  worker_command=importops_worker
else
  echo "TASK_BACKEND must be database or rq, not $backend" >&2
  exit 2
fi

$py manage.py migrate --noinput -v0
$py manage.py createcachetable
$py manage.py collectstatic --noinput -v0
$py manage.py demo_setup

pids=()
stop() {
  trap - EXIT INT TERM
  [ ${#pids[@]} -gt 0 ] && { kill "${pids[@]}" 2>/dev/null || true; }
  wait 2>/dev/null || true
  if [ -n "$started_redis" ]; then REDIS_PORT_TEST=$started_redis scripts/redis.sh stop; fi
  exit 0
}
trap stop EXIT INT TERM

# The workers: the same command operators run in production (README, "Workers").
for n in $(seq "$workers"); do
  if [ "$backend" = rq ]; then
    $py manage.py $worker_command --name "demo-$n-$$" &
  else
    $py manage.py $worker_command --worker-id "demo-$n-$$" &
  fi
  pids+=($!)
done
# gunicorn's asgi worker (rcimport/gunicorn.conf.py says why): slow clients cannot starve it.
.venv/bin/gunicorn --config rcimport/gunicorn.conf.py --bind "127.0.0.1:$port" --no-control-socket \
  --access-logfile - &
web=$!
pids+=("$web")

cat <<TXT

  importops demo is running
    site:  http://127.0.0.1:$port/
    admin: http://127.0.0.1:$port/admin/   (user: admin)
    API:   http://127.0.0.1:$port/api/v1/   (log in: POST /api/v1/login)
    tasks: $backend, $workers worker process(es)
  Ctrl-C stops the web server and the workers.

TXT
# Runs until the web server stops. A worker that dies does not stop the demo: the other
# workers resume its share of a run (README, "Recovery").
wait "$web"
