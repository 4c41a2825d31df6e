#!/usr/bin/env bash
# The claim statement alone draining a busy topic, beside idle subscriptions and with a transaction held open
# (docs/storage.md): scripts/claim-drain.sh [IDLE...]   default 0 5000; each count runs without and with the held
# transaction; HAMMER_DRAIN_PERIODS=N adds N past one-day periods of partitions first. Needs a debug build (to migrate)
# and psycopg (installed when missing).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
port=${HAMMER_DRAIN_PG_PORT:-25446}
python3 -c "import psycopg" 2>/dev/null || python3 -m pip install -q "psycopg[binary]"
"$root/scripts/postgres.sh" start drain "$port" fast >/dev/null
trap '"$root/scripts/postgres.sh" stop drain >/dev/null' EXIT
psql -h 127.0.0.1 -p "$port" -U hammer -d postgres -qc "DROP DATABASE IF EXISTS idle" -c "CREATE DATABASE idle"
HAMMER_DATABASE_URL="postgres://hammer@127.0.0.1:$port/idle?sslmode=disable" LOG_LEVEL=error .build/debug/hammer migrate >/dev/null
# HAMMER_DRAIN_PERIODS=N: N one-day periods of partitions before today's, as a database keeping N days of history has.
periods=${HAMMER_DRAIN_PERIODS:-0}
if [ "$periods" -gt 0 ]; then
  psql -h 127.0.0.1 -p "$port" -U hammer -d idle -q <<SQL
DO \$\$
DECLARE
    v_oldest timestamptz := date_trunc('day', (now() - ($periods + 1) * interval '1 day') AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    v_table text;
BEGIN
    FOREACH v_table IN ARRAY hammer_partitioned_tables() LOOP
        EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', v_table, v_table || '_kept');
        EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%L)', v_table, v_table || '_kept',
            hammer_id_bound(v_oldest));
    END LOOP;
    FOR i IN 0..$periods - 1 LOOP
        PERFORM hammer_add_partition_period(v_oldest + i * interval '1 day', v_oldest + (i + 1) * interval '1 day');
    END LOOP;
END
\$\$;
SQL
fi
sql=$(mktemp)
python3 -c "import re; print(re.findall(r'static let sql = \"\"\"\n(.*?)\n        \"\"\"', open('Sources/Hammer/Storage/Queue/ClaimStatement.swift').read(), re.S)[0])" >"$sql"
for idle in "${@:-0 5000}"; do
  for idle_count in $idle; do
    python3 scripts/claim-drain/drain.py "$port" "$sql" "$idle_count"
    python3 scripts/claim-drain/drain.py "$port" "$sql" "$idle_count" held
  done
done
rm -f "$sql"
