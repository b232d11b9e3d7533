#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the test suite and print its SQLAlchemy URL.
#   scripts/postgres.sh start DIR   -> prints postgresql+psycopg://...; the server lives in DIR
#   scripts/postgres.sh stop DIR
# Uses the machine's PostgreSQL (installed with apt when missing). Runs as the `postgres` user
# when started as root (the server refuses to run as root).
set -euo pipefail
action="${1:?start|stop}"
dir="${2:?data folder}"
bin=""
for candidate in /usr/lib/postgresql/*/bin; do [ -x "$candidate/initdb" ] && bin="$candidate"; done
if [ -z "$bin" ]; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2
    for candidate in /usr/lib/postgresql/*/bin; do [ -x "$candidate/initdb" ] && bin="$candidate"; done
  fi
  [ -n "$bin" ] || { echo "PostgreSQL is not installed and cannot be installed here" >&2; exit 1; }
fi
as_db_user() {
  # from /: the caller's directory may be closed to the postgres user ("could not change directory")
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}
case "$action" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    port=$(( 20000 + RANDOM % 20000 ))
    as_db_user "$bin/initdb" -D "$dir/data" -A trust -U renown >/dev/null
    as_db_user "$bin/pg_ctl" -D "$dir/data" -o "-p $port -k $dir -c listen_addresses=127.0.0.1" -l "$dir/log" -w start >/dev/null
    as_db_user "$bin/createdb" -h 127.0.0.1 -p "$port" -U renown renown_test
    echo "postgresql+psycopg://renown@127.0.0.1:$port/renown_test"
    ;;
  stop)
    [ -d "$dir/data" ] && as_db_user "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    ;;
esac
