#!/usr/bin/env bash
# `make grpc-trial`: scripts/grpc-trial.py (a Python grpcio client generated from hammer v0.9.1's own proto, or from
# PROTO) against a live `hammer all` with an API key, on a throwaway PostgreSQL.
#   scripts/grpc-trial.sh [PROTO]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
port=${HAMMER_TRIAL_PG_PORT:-54333}
python3 -c "import grpc, grpc_tools, google.api, standardwebhooks" 2>/dev/null ||
  python3 -m pip install -q grpcio grpcio-tools googleapis-common-protos standardwebhooks
"$root/scripts/postgres.sh" start trial "$port" fast
export HAMMER_DATABASE_URL="postgres://hammer@127.0.0.1:$port/hammer?sslmode=disable"
psql -h 127.0.0.1 -p "$port" -U hammer -d postgres -qc "DROP DATABASE IF EXISTS hammer WITH (FORCE)" -c "CREATE DATABASE hammer" >/dev/null
LOG_LEVEL=error .build/debug/hammer migrate >/dev/null
HAMMER_HTTP_PORT=8210 HAMMER_GRPC_PORT=8211 HAMMER_API_KEYS=trial-key HAMMER_ALLOW_PRIVATE_TARGETS=true \
  HAMMER_WORKER_POLL_INTERVAL=100ms LOG_LEVEL=error .build/debug/hammer all &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; "$root/scripts/postgres.sh" stop trial' EXIT
python3 scripts/grpc-trial.py --target 127.0.0.1:8211 --api-key trial-key ${1:+--proto "$1"}
