#!/usr/bin/env bash
# The claim at scale (docs/scheduling.md): 300 subscriptions (some disabled, rate-limited, ordered with a failing
# head) and 200,100 pending deliveries on a throwaway PostgreSQL; prints the claim's EXPLAIN ANALYZE, then drains the
# plain subscriptions with the real claim statement and prints the mean claim time per tenth. Needs a debug build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
port=${HAMMER_SCALE_PG_PORT:-25440}
python3 -c "import psycopg" 2>/dev/null || python3 -m pip install -q "psycopg[binary]"
"$root/scripts/postgres.sh" start scale "$port" fast
trap '"$root/scripts/postgres.sh" stop scale' EXIT
psql -h 127.0.0.1 -p "$port" -U hammer -d postgres -qc "DROP DATABASE IF EXISTS scale" -c "CREATE DATABASE scale"
HAMMER_DATABASE_URL="postgres://hammer@127.0.0.1:$port/scale?sslmode=disable" .build/debug/hammer migrate >/dev/null
psql -h 127.0.0.1 -p "$port" -U hammer -d scale -q -f scripts/claim-scale/seed.sql
claim=$(python3 -c "import re; print(re.findall(r'static let sql = \"\"\"\n(.*?)\n        \"\"\"', open('Sources/Hammer/Storage/Queue/ClaimStatement.swift').read(), re.S)[0])")
psql -h 127.0.0.1 -p "$port" -U hammer -d scale -q <<SQL
PREPARE claim(int, int, text[], int[], int, text[], int, int, text[], int[]) AS $claim;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) EXECUTE claim(100, 30, '{}', '{}', 16, '{}', 33554432, 25, '{}', '{}');
SQL
python3 scripts/claim-scale/drain.py "$port"
