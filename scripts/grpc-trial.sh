#!/usr/bin/env bash
# `make grpc-trial`: scripts/grpc-trial.py (a Python grpcio client generated from hammer v0.9.1's own proto, or from
# PROTO) against a live `hammer all` with an API key, on a throwaway PostgreSQL.
#   scripts/grpc-trial.sh [PROTO]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
port=${HAMMER_TRIAL_PG_PORT:-25434}
python3 -c "import grpc, grpc_tools, google.api, standardwebhooks" 2>/dev/null ||
  python3 -m pip install -q grpcio grpcio-tools googleapis-common-protos standardwebhooks
. "$root/scripts/lib/throwaway-hammer.sh"
start_hammer trial "$port" all HAMMER_HTTP_PORT=8210 HAMMER_GRPC_PORT=8211 HAMMER_API_KEYS=trial-key HAMMER_ALLOW_PRIVATE_TARGETS=true \
  HAMMER_WORKER_POLL_INTERVAL=100ms LOG_LEVEL=error
python3 scripts/grpc-trial.py --target 127.0.0.1:8211 --api-key trial-key ${1:+--proto "$1"}
