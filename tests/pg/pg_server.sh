#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for the tests (issue 15), from Debian's postgresql-15:
#   pg_server.sh start STATE_DIR      initdb + pg_ctl start on a free 127.0.0.1 port; writes
#                                     STATE_DIR/admin_url (superuser "crypta", trust auth)
#   pg_server.sh createdb STATE_DIR NAME   creates database NAME (if absent), prints its URL
#   pg_server.sh pause|resume STATE_DIR    stops / restarts the server, keeping its data and
#                                     port (tests of a store outage)
#   pg_server.sh stop STATE_DIR       stops the server and removes its files
# As root (CI) the server runs as the unprivileged user nobody: PostgreSQL refuses root.
# The cluster lives in a private directory under /tmp; fsync is off (tests, not durability).
set -euo pipefail

cmd=${1:?usage: pg_server.sh start|createdb|stop STATE_DIR [NAME]}
state=${2:?state dir}
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x $pg_bin/initdb ]] || { echo "pg_server: PostgreSQL server binaries not found (scripts/setup.sh installs postgresql-15)" >&2; exit 1; }

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u nobody -- "$@"; else "$@"; fi
}

case $cmd in
  start)
    "$0" stop "$state"  # a server a killed ctest run left behind
    mkdir -p "$state"
    dir=$(mktemp -d /tmp/crypta-pg.XXXXXX)
    chmod 0755 "$dir"
    [[ $(id -u) -eq 0 ]] && chown nobody:nogroup "$dir"
    echo "$dir" >"$state/dir"
    as_owner "$pg_bin/initdb" -D "$dir/data" -U crypta -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    for _ in 1 2 3 4 5; do
      port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
      echo "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" >"$state/options"
      if as_owner "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
          -o "$(cat "$state/options")" start >/dev/null; then
        echo "postgresql://crypta@127.0.0.1:$port/postgres" >"$state/admin_url"
        echo "$port" >"$state/port"
        exit 0
      fi
    done
    cat "$dir/server.log" >&2
    exit 1
    ;;
  createdb)
    name=${3:?database name}
    admin=$(cat "$state/admin_url")
    if ! psql -X -q -t -A "$admin" -c "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
      psql -X -q "$admin" -c "CREATE DATABASE \"$name\"" >/dev/null 2>&1 ||
        psql -X -q -t -A "$admin" -c "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1
    fi
    echo "${admin%/postgres}/$name"
    ;;
  pause)
    as_owner "$pg_bin/pg_ctl" -D "$(cat "$state/dir")/data" -m fast -w stop >/dev/null
    ;;
  resume)
    dir=$(cat "$state/dir")
    as_owner "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "$(cat "$state/options")" start >/dev/null
    ;;
  stop)
    [[ -f $state/dir ]] || exit 0
    dir=$(cat "$state/dir")
    as_owner "$pg_bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir" "$state/dir" "$state/admin_url" "$state/port" "$state/options"
    ;;
  *)
    echo "usage: pg_server.sh start|createdb|pause|resume|stop STATE_DIR [NAME]" >&2
    exit 2
    ;;
esac
