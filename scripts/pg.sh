#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for tests and prints its URL.
#   eval "$(scripts/pg.sh start)"   # sets TENURE_PG_DIR and TEST_DATABASE_URL
#   scripts/pg.sh stop "$TENURE_PG_DIR"
# Installs the server with apt-get when it is missing. As root, the server
# runs as the `postgres` user (PostgreSQL refuses to run as root).
set -euo pipefail

find_bin() {
  local name=$1
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin/"$name" 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$found" ] && echo "$found"
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

case "${1:-}" in
  start)
    if [ -z "$(find_bin initdb)" ]; then
      echo "installing PostgreSQL with apt-get" >&2
      if [ "$(id -u)" != 0 ]; then echo "PostgreSQL is missing and installing it needs root" >&2; exit 1; fi
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2
    fi
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
      useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
    INITDB=$(find_bin initdb); PG_CTL=$(find_bin pg_ctl)
    dir=$(mktemp -d -t tenure-pg.XXXXXX)
    chmod 755 "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_pg "$INITDB" -D "$dir/data" -U tenure -A trust --no-sync >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    port=$(free_port)
    as_pg "$PG_CTL" -D "$dir/data" -l "$dir/server.log" \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
      -w start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo "export TENURE_PG_DIR=$dir"
    echo "export TEST_DATABASE_URL=postgres://tenure@127.0.0.1:$port/postgres"
    ;;
  stop)
    dir=${2:?usage: pg.sh stop DIR}
    PG_CTL=$(find_bin pg_ctl)
    as_pg "$PG_CTL" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: scripts/pg.sh start | stop DIR" >&2; exit 2 ;;
esac
