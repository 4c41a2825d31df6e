#!/usr/bin/env bash
# `make api-fuzz`: schemathesis against a live `hammer server` on a throwaway PostgreSQL, using /openapi.json.
#   scripts/api-fuzz.sh [MAX_EXAMPLES] [SEED]   (default 50 examples, a random seed; CI fixes the seed so a run is repeatable)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
port=${HAMMER_FUZZ_PG_PORT:-25432}
command -v st >/dev/null 2>&1 || pip install -q schemathesis
. "$root/scripts/lib/throwaway-hammer.sh"
start_hammer fuzz "$port" server HAMMER_HTTP_PORT=8200 HAMMER_GRPC_PORT=0 HAMMER_ALLOW_PRIVATE_TARGETS=true LOG_LEVEL=error
# The coverage phase is left out: on this machine's CPython 3.11 it crashes inside hypothesis' own source inspection
# (KeyError or "AST constructor recursion depth mismatch" in get_pretty_function_description), a crash of the tool, not
# a finding. When it ran, it found three schema mismatches, since fixed in openapi.json and schemathesis.toml.
st run http://127.0.0.1:8200/openapi.json --wait-for-schema 30 --checks all --phases examples,fuzzing,stateful \
  --max-examples "${1:-50}" --workers 2 ${2:+--seed "$2"}
