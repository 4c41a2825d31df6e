#!/usr/bin/env bash
# A project-local PostgreSQL for `make run` and `make test`.
#   scripts/postgres.sh start NAME PORT [fast]   initialise .local/postgres-NAME if needed, start it, create db "hammer"
#   scripts/postgres.sh stop NAME [fast|immediate]   (immediate = crash-like stop, recovery on next start)
#   scripts/postgres.sh restart NAME PORT [fast]   stop (fast), then start
#   scripts/postgres.sh status NAME   exit 0 when it runs, 3 when it does not
# Each step works from any checkout location (a checkout the postgres user cannot enter keeps its data in /tmp,
# linked from .local), and a stop or start that did not happen exits non-zero.
# Listens on 127.0.0.1:PORT, superuser "hammer", trust auth (local development only).
# "fast" turns fsync off: for throwaway test clusters, never for data you keep.
# As root it runs the server as the "postgres" user, which PostgreSQL requires.
set -euo pipefail

cmd=${1:?usage: postgres.sh start|stop|restart|status NAME [PORT] [fast]}
name=${2:?cluster name required}
root=$(cd "$(dirname "$0")/.." && pwd)
data="$root/.local/postgres-$name"
# The postgres user may not be able to enter the checkout: every step uses the link's target.
if [ -L "$data" ]; then data=$(readlink -f "$data"); fi

bindir=""
if command -v pg_config >/dev/null 2>&1; then bindir=$(pg_config --bindir 2>/dev/null || true); fi
find_bin() {
  if [ -n "$bindir" ] && [ -x "$bindir/$1" ]; then echo "$bindir/$1"; return; fi
  if command -v "$1" >/dev/null 2>&1; then command -v "$1"; return; fi
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/$1" ]; then echo "$dir/$1"; return; fi
  done
  echo "postgres.sh: cannot find $1; install PostgreSQL server binaries (apt-get install postgresql)" >&2
  exit 1
}

# On a machine without PostgreSQL, install it from Debian's packages (root only).
if ! command -v initdb >/dev/null 2>&1 && [ -z "$bindir" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "postgres.sh: installing PostgreSQL from apt" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
fi

# As root, the server's own user runs the command, from / (the checkout may be a directory it cannot enter).
as_owner() {
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

running() {
  [ -f "$data/PG_VERSION" ] && as_owner "$(find_bin pg_ctl)" -D "$data" status >/dev/null 2>&1
}

stop_cluster() {
  local mode=$1
  running || return 0
  if ! as_owner "$(find_bin pg_ctl)" -D "$data" -m "$mode" -w -t 60 stop >/dev/null; then
    echo "postgres.sh: could not stop the $name cluster in $data" >&2
    exit 1
  fi
  if running; then
    echo "postgres.sh: the $name cluster in $data still runs after stop" >&2
    exit 1
  fi
}

if [ "$cmd" = restart ]; then
  stop_cluster fast
  cmd=start
fi

case "$cmd" in
start)
  port=${3:?port required}
  mode=${4:-}
  initdb=$(find_bin initdb)
  pg_ctl=$(find_bin pg_ctl)
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  fi
  mkdir -p "$root/.local"
  if [ "$(id -u)" = 0 ]; then
    if ! runuser -u postgres -- test -x "$root/.local"; then
      # The checkout is not reachable by the postgres user (e.g. under /root): keep the data outside it.
      data="/tmp/hammer-postgres-$(echo -n "$root" | md5sum | cut -c1-8)-$name"
      ln -sfn "$data" "$root/.local/postgres-$name"
    fi
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    rm -rf "$data"
    mkdir -p "$data"
    [ "$(id -u)" = 0 ] && chown postgres: "$data"
    chmod 700 "$data"
    as_owner "$initdb" -D "$data" -U hammer --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$data.initdb.log" 2>&1 \
      || { cat "$data.initdb.log" >&2; exit 1; }
  fi
  if as_owner "$pg_ctl" -D "$data" status >/dev/null 2>&1; then
    :
  else
    opts="-p $port -c listen_addresses=127.0.0.1 -k $data -c max_connections=200"
    [ "$mode" = fast ] && opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    # More server settings for this start (the benchmark's memory and checkpoint spacing), as `-c name=value ...`.
    opts="$opts ${HAMMER_PG_OPTIONS:-}"
    # The project's ports (2542x–2544x) lie below Linux's ephemeral range (32768–60999), so no outgoing connection can
    # hold one as its local end (the 5433x ports used before could, for a minute after the chaos suite). A port another
    # process is still releasing is waited for rather than failed on.
    for attempt in $(seq 1 20); do
      if as_owner "$pg_ctl" -D "$data" -o "$opts" -l "$data/server.log" -w -t 60 start >/dev/null; then break; fi
      if [ "$attempt" -lt 20 ] && tail -5 "$data/server.log" | grep -q "Address already in use"; then
        echo "postgres.sh: 127.0.0.1:$port is still in use; retrying in 3 s" >&2
        sleep 3
        continue
      fi
      tail -20 "$data/server.log" >&2
      exit 1
    done
  fi
  psql=$(find_bin psql)
  if ! "$psql" -h 127.0.0.1 -p "$port" -U hammer -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'hammer'" | grep -q 1; then
    "$psql" -h 127.0.0.1 -p "$port" -U hammer -d postgres -qc "CREATE DATABASE hammer" >/dev/null
  fi
  ;;
stop)
  stop_cluster "${3:-fast}"
  ;;
status)
  running || exit 3
  ;;
*)
  echo "usage: postgres.sh start|stop|restart|status NAME [PORT] [fast]" >&2
  exit 2
  ;;
esac
