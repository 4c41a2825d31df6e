#!/usr/bin/env bash
# `make test`: a throwaway PostgreSQL (fsync off) on 127.0.0.1:$HAMMER_TEST_PG_PORT, then `swift test`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
port=${HAMMER_TEST_PG_PORT:-25430}

# The TLS tests make their certificates with the openssl command.
if ! command -v openssl >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq openssl >/dev/null
fi

# Signatures are verified with the Standard Webhooks reference library.
python3 -c "import standardwebhooks" 2>/dev/null || python3 -m pip install -q standardwebhooks

"$root/scripts/postgres.sh" start test "$port" fast
trap '"$root/scripts/postgres.sh" stop test' EXIT

export HAMMER_TEST_DATABASE_URL="postgres://hammer@127.0.0.1:$port/postgres?sslmode=disable"
swift test "$@"
