#!/usr/bin/env bash
# Every PostgreSQL control step of scripts/postgres.sh from a checkout the postgres user cannot enter (a 0700 parent,
# as under /root): start, status, restart, stop (fast and immediate) each happen, and status says so.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
port=${HAMMER_CONTROL_PG_PORT:-25439}
if [ "$(id -u)" != 0 ]; then
  echo "test-postgres-control: runs as root only (it needs a directory the postgres user cannot enter); skipped"
  exit 0
fi
parent=$(mktemp -d /tmp/hammer-control-XXXXXX)
chmod 700 "$parent"
mkdir -p "$parent/checkout/scripts"
cp "$root/scripts/postgres.sh" "$parent/checkout/scripts/"
script="$parent/checkout/scripts/postgres.sh"
cleanup() {
  "$script" stop control immediate >/dev/null 2>&1 || true
  rm -rf "$(readlink -f "$parent/checkout/.local/postgres-control" 2>/dev/null || echo /nonexistent)" "$parent"
}
trap cleanup EXIT
fail() { echo "test-postgres-control: FAIL: $*" >&2; exit 1; }
status() { local code=0; "$script" status control || code=$?; echo "$code"; }

cd "$parent/checkout"
"$script" start control "$port" fast
[ "$(status)" = 0 ] || fail "status after start"
"$script" restart control "$port" fast
[ "$(status)" = 0 ] || fail "status after restart"
"$script" stop control
[ "$(status)" = 3 ] || fail "the server still runs after stop"
"$script" start control "$port" fast
"$script" stop control immediate
[ "$(status)" = 3 ] || fail "the server still runs after an immediate stop"
"$script" stop control || fail "stopping a stopped cluster is not an error"
echo "test-postgres-control: start, status, restart and stop work from a checkout the postgres user cannot enter"
