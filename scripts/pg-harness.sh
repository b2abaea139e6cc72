#!/usr/bin/env bash
# Throwaway PostgreSQL 15 for the integration tests.
#
#   scripts/pg-harness.sh start DIR   # fresh cluster in DIR, database studio_test, URI in DIR/uri
#   scripts/pg-harness.sh stop DIR    # fast shutdown, then DIR is removed
#
# Works as root (the server itself runs as the `postgres` user, which must own the data and
# socket dirs) and as an ordinary user. A DIR left behind by a crashed run is cleaned up first.
#
# DIR/owner records the process that started the cluster (ctest, or your shell). While that
# process is alive, `start`/`stop` from another process leave the cluster alone, so two ctest
# runs in one build dir cannot pull each other's database away (the second one's postgres
# tests fail at pg_start instead). PG_HARNESS_FORCE=1 overrides.
set -euo pipefail

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PY=/usr/bin/python3

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}

[ $# -eq 2 ] || usage
cmd="$1"
dir="$2"
case "$dir" in /*) ;; *) dir="$(pwd)/$dir" ;; esac

# Run a command as the server's owner: `postgres` when we are root, ourselves otherwise.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    # runuser keeps the environment minimal; cd / so postgres never needs our cwd.
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

stop_server() {
  local data="$dir/data"
  if [ -f "$data/postmaster.pid" ]; then
    as_owner "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      as_owner "$PG_BIN/pg_ctl" -D "$data" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
    # Last resort: the postmaster pid from the lock file, if that process is still alive.
    if [ -f "$data/postmaster.pid" ]; then
      local pid
      pid="$(head -n1 "$data/postmaster.pid" 2>/dev/null || true)"
      if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" 2>/dev/null || true
        sleep 0.2
      fi
    fi
  fi
}

# Prints the pid of a live process other than our parent that owns the running cluster.
foreign_owner() {
  [ "${PG_HARNESS_FORCE:-0}" = 1 ] && return 1
  [ -f "$dir/owner" ] && [ -f "$dir/data/postmaster.pid" ] || return 1
  local owner
  owner="$(cat "$dir/owner" 2>/dev/null || true)"
  [ -n "$owner" ] && [ "$owner" != "$PPID" ] && kill -0 "$owner" 2>/dev/null || return 1
  as_owner "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 || return 1
  echo "$owner"
}

free_port() {
  "$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

start() {
  local owner
  if owner="$(foreign_owner)"; then
    echo "pg-harness: $dir is in use by a running session (pid $owner); not touching it" >&2
    exit 2
  fi
  # A previous run may have crashed and left its server and files behind.
  if [ -e "$dir" ]; then
    stop_server
    rm -rf "$dir"
  fi
  mkdir -p "$dir/data" "$dir/sock"
  chmod 755 "$dir"
  chmod 700 "$dir/data"
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$dir/data" "$dir/sock"
    # the log file is written by the postmaster
    touch "$dir/pg.log"
    chown postgres:postgres "$dir/pg.log"
  fi

  as_owner "$PG_BIN/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 2
  }

  local port attempt
  for attempt in 1 2 3 4 5; do
    port="$(free_port)"
    if as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w -t 30 \
      -o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c fsync=off \
          -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
      start >/dev/null 2>&1; then
      break
    fi
    port=""
    echo "pg-harness: start on port attempt $attempt failed, retrying" >&2
  done
  if [ -z "$port" ]; then
    echo "pg-harness: PostgreSQL did not start; log follows" >&2
    cat "$dir/pg.log" >&2 || true
    exit 2
  fi

  psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres \
    -c 'CREATE DATABASE studio_test' >/dev/null
  echo "$PPID" >"$dir/owner"
  echo "$port" >"$dir/port"
  echo "postgresql://postgres@127.0.0.1:$port/studio_test" >"$dir/uri"
  echo "pg-harness: PostgreSQL on 127.0.0.1:$port ($(cat "$dir/uri"))"
}

stop() {
  local owner
  if owner="$(foreign_owner)"; then
    echo "pg-harness: $dir belongs to a running session (pid $owner); leaving it" >&2
    exit 0
  fi
  if [ -e "$dir" ]; then
    stop_server
    rm -rf "$dir"
  fi
  echo "pg-harness: stopped"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
