#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on 127.0.0.1 and prints its admin URL on stdout.
# Usage: eval "$(scripts/pg-throwaway.sh start)"   then   scripts/pg-throwaway.sh stop "$PG_DIR"
# Installs Debian's postgresql package first if no server binaries are present.
set -euo pipefail

as_pg() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}

case "${1:-}" in
  start)
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
      echo "installing PostgreSQL from Debian's packages" >&2
      apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    fi
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    dir=$(mktemp -d /tmp/pg-throwaway.XXXXXX)
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_pg "$bin/initdb -D $dir/data -A trust -U postgres --encoding=UTF8 --no-locale" >&2
    as_pg "$bin/pg_ctl -D $dir/data -l $dir/log -w -o '-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=300' start" >&2
    echo "export PG_DIR=$dir PG_BIN=$bin TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    dir=${2:?data directory}
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    as_pg "$bin/pg_ctl -D $dir/data -m fast stop" >&2 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start | stop DIR" >&2
    exit 2
    ;;
esac
