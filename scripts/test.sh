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
if [ $# -gt 0 ]; then
  swift test "$@"
  exit
fi
# The suites that bound wall-clock time (retry gaps, deadlines, stalled receivers, concurrency seen at a receiver)
# run in a second pass of their own: beside the other 40-odd suites on 2 cores, a send or a write could lag by
# seconds and fail a bound that holds whenever the machine is not saturated by the test run itself.
timed='\.(DeliveryWorkerTests|HostileReceiverTests|PoisonRecordTests|DatabaseOutageTests|HostResolverTests|EndpointHealthTests)/'
swift test --skip "$timed"
swift test --skip-build --filter "$timed"
