#!/usr/bin/env bash
# `make test`: a throwaway PostgreSQL (fsync off) on 127.0.0.1:$HAMMER_TEST_PG_PORT, then `swift test`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
port=${HAMMER_TEST_PG_PORT:-54330}

"$root/scripts/postgres.sh" start test "$port" fast
trap '"$root/scripts/postgres.sh" stop test' EXIT

export HAMMER_TEST_DATABASE_URL="postgres://hammer@127.0.0.1:$port/postgres?sslmode=disable"
swift test "$@"
