#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and benchmarks.
#
#   scripts/pg.sh start   initialise (first time) and start; prints the DATABASE_URL
#   scripts/pg.sh stop    stop it (fast shutdown)
#   scripts/pg.sh restart restart it (fast shutdown: sessions are terminated, as in a failover)
#   scripts/pg.sh url     print the DATABASE_URL
#
# Environment: PGPORT_TEST (default 54329), PGDATA_TEST (default /tmp/importops-pg-$PGPORT_TEST).
# Needs PostgreSQL >= 13 server binaries (Debian: postgresql-15). When run as root, the
# server runs as the `postgres` system user, because initdb and pg_ctl refuse root.
set -euo pipefail

port="${PGPORT_TEST:-54329}"
data="${PGDATA_TEST:-/tmp/importops-pg-$port}"
url="postgres://postgres@127.0.0.1:$port/postgres"

find_bin() {
  local dir
  if command -v pg_ctl >/dev/null 2>&1; then dirname "$(command -v pg_ctl)"; return; fi
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/pg_ctl" ] && { echo "$dir"; return; }
  done
  return 1
}

install_server() {
  echo "PostgreSQL server not found: installing it from the system packages" >&2
  if command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null 2>&1 \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
  else
    echo "no apt-get: install PostgreSQL >= 13 by hand" >&2; exit 1
  fi
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

bin=$(find_bin || { install_server; find_bin; })

# The port may be briefly taken (a client's ephemeral port in TIME_WAIT): retry, as
# PostgreSQL's own hint says.
start_server() {
  local attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1 && return 0
    as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -o "-p $port" -w -t 60 start >/dev/null 2>&1 && return 0
    sleep "$attempt"
  done
  echo "PostgreSQL did not start on port $port: see $data/server.log" >&2
  return 1
}

case "${1:-start}" in
  start)
    if [ ! -s "$data/PG_VERSION" ]; then
      mkdir -p "$data"
      [ "$(id -u)" = 0 ] && chown postgres: "$data"
      chmod 700 "$data"
      as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
      # Durability off: this server holds throwaway test and benchmark data only.
      cat >> "$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
CONF
    fi
    start_server
    echo "$url"
    ;;
  restart)
    as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    start_server
    ;;
  stop)
    if [ -s "$data/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    fi
    ;;
  url) echo "$url" ;;
  *) echo "usage: $0 start|stop|restart|url" >&2; exit 2 ;;
esac
