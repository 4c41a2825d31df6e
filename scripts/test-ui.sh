#!/usr/bin/env bash
# `make test-ui`: the web console in Debian's headless chromium (Selenium) against a live `hammer all` with an API key,
# on a throwaway PostgreSQL. Installs chromium, chromium-driver (apt) and selenium (pip) when missing. Writes
# docs/console.png, the screenshot in docs/console.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
port=${HAMMER_UI_PG_PORT:-25435}
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
python3 -c "import selenium" 2>/dev/null || python3 -m pip install -q selenium
. "$root/scripts/lib/throwaway-hammer.sh"
start_hammer ui "$port" all HAMMER_HTTP_PORT=8220 HAMMER_GRPC_PORT=0 HAMMER_API_KEYS=ui-key HAMMER_ALLOW_PRIVATE_TARGETS=true \
  HAMMER_WORKER_POLL_INTERVAL=100ms LOG_LEVEL=error
for _ in $(seq 100); do curl -sf http://127.0.0.1:8220/readiness >/dev/null && break; sleep 0.1; done
mkdir -p docs
python3 scripts/test_ui.py --base http://127.0.0.1:8220 --key ui-key --screenshot docs/console.png
