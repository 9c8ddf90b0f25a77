#!/usr/bin/env bash
# A throwaway Redis server for tests, benchmarks and the demo.
#
#   scripts/redis.sh start   start it (installing redis-server if missing); prints its URL
#   scripts/redis.sh stop    stop it
#   scripts/redis.sh url     print its URL
#
# Environment: REDIS_PORT_TEST (default 6390). Data is not persisted.
set -euo pipefail

port="${REDIS_PORT_TEST:-6390}"
dir="/tmp/importops-redis-$port"
url="redis://127.0.0.1:$port/0"

install_server() {
  echo "redis-server not found: installing it from the system packages" >&2
  if command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null 2>&1 \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
  else
    echo "no apt-get: install redis-server by hand" >&2; exit 1
  fi
}

answers() { redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; }

case "${1:-start}" in
  start)
    command -v redis-server >/dev/null 2>&1 || install_server
    if ! answers; then
      mkdir -p "$dir"
      redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --dir "$dir" --pidfile "$dir/redis.pid" \
        --logfile "$dir/redis.log" --save '' --appendonly no >/dev/null
      for _ in $(seq 100); do answers && break; sleep 0.1; done
      answers || { echo "redis-server did not start: see $dir/redis.log" >&2; exit 1; }
    fi
    echo "$url"
    ;;
  stop)
    if answers; then redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; fi
    ;;
  url) echo "$url" ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
