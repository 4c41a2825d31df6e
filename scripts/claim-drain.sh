#!/usr/bin/env bash
# The claim statement alone draining a busy topic, beside idle subscriptions and with a transaction held open
# (docs/storage.md): scripts/claim-drain.sh [IDLE...]   default 0 5000; each count runs without and with the held
# transaction. Needs a debug build (to migrate) and psycopg (installed when missing).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
port=${HAMMER_DRAIN_PG_PORT:-25446}
python3 -c "import psycopg" 2>/dev/null || python3 -m pip install -q "psycopg[binary]"
"$root/scripts/postgres.sh" start drain "$port" fast >/dev/null
trap '"$root/scripts/postgres.sh" stop drain >/dev/null' EXIT
psql -h 127.0.0.1 -p "$port" -U hammer -d postgres -qc "DROP DATABASE IF EXISTS idle" -c "CREATE DATABASE idle"
HAMMER_DATABASE_URL="postgres://hammer@127.0.0.1:$port/idle?sslmode=disable" LOG_LEVEL=error .build/debug/hammer migrate >/dev/null
sql=$(mktemp)
python3 -c "import re; print(re.findall(r'static let sql = \"\"\"\n(.*?)\n        \"\"\"', open('Sources/Hammer/Storage/Queue/ClaimStatement.swift').read(), re.S)[0])" >"$sql"
for idle in "${@:-0 5000}"; do
  for idle_count in $idle; do
    python3 scripts/claim-drain/drain.py "$port" "$sql" "$idle_count"
    python3 scripts/claim-drain/drain.py "$port" "$sql" "$idle_count" held
  done
done
rm -f "$sql"
