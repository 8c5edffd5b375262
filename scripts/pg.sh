#!/usr/bin/env bash
# pg.sh start DIR [PORT] | stop DIR - a private PostgreSQL cluster for the
# tests and benchmarks: a new data directory in DIR, a server on 127.0.0.1:PORT
# (default 55432) and a Unix socket in DIR, the database hello_world with
# TechEmpower's World table (10,000 rows). `start` prints the URL to give
# chopin-example as CHOPIN_DATABASE_URL; `stop` stops it and removes DIR.
# Needs Debian's postgresql package (make deps installs it). As root, the
# server runs as the postgres user (PostgreSQL refuses to run as root).
set -eu
cmd=${1:-}; dir=${2:-}; port=${3:-55432}
[ -n "$dir" ] && { [ "$cmd" = start ] || [ "$cmd" = stop ]; } || { sed -n '2,8p' "$0"; exit 2; }
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/pg_ctl" ] || { echo "pg.sh: PostgreSQL not found under /usr/lib/postgresql (make deps installs it)" >&2; exit 1; }
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ "$cmd" = stop ]; then
    [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop > /dev/null 2>&1 || true
    rm -rf "$dir"
    exit 0
fi

rm -rf "$dir"
mkdir -p "$dir"
[ "$(id -u)" -eq 0 ] && chown postgres "$dir"
as_owner "$bin/initdb" -D "$dir/data" -U chopin -A trust --no-sync > "$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
# fsync off: a throwaway cluster; max_connections above the pools of a test run.
as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-k $dir -c listen_addresses=127.0.0.1 -p $port -c fsync=off -c synchronous_commit=off -c max_connections=300" \
    start > /dev/null || { cat "$dir/server.log" >&2; exit 1; }
psql_() { "$bin/psql" -h "$dir" -p "$port" -U chopin -v ON_ERROR_STOP=1 -q "$@"; }
psql_ -d postgres -c "CREATE DATABASE hello_world"
psql_ -d hello_world -c "CREATE TABLE world (id integer PRIMARY KEY, randomnumber integer NOT NULL);
    INSERT INTO world SELECT i, 1 + floor(random() * 10000)::integer FROM generate_series(1, 10000) AS i;"
echo "postgres://chopin@127.0.0.1:$port/hello_world"
