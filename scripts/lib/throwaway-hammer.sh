# Sourced by the scripts that try hammer from outside (api-fuzz.sh, grpc-trial.sh, test-ui.sh).
#   start_hammer NAME PG_PORT COMMAND [VARIABLE=VALUE ...]
# starts a throwaway PostgreSQL cluster NAME (fsync off) on 127.0.0.1:PG_PORT, creates and migrates a fresh `hammer`
# database (exported as HAMMER_DATABASE_URL), then runs `.build/debug/hammer COMMAND` in the background with the
# variables; both are stopped when the script exits.
start_hammer() {
  local name=$1 port=$2 command=$3
  shift 3
  "$root/scripts/postgres.sh" start "$name" "$port" fast
  export HAMMER_DATABASE_URL="postgres://hammer@127.0.0.1:$port/hammer?sslmode=disable"
  psql -h 127.0.0.1 -p "$port" -U hammer -d postgres -qc "DROP DATABASE IF EXISTS hammer WITH (FORCE)" -c "CREATE DATABASE hammer" >/dev/null
  LOG_LEVEL=error "$root/.build/debug/hammer" migrate >/dev/null
  env "$@" "$root/.build/debug/hammer" "$command" &
  hammer_pid=$!
  # shellcheck disable=SC2064 # the values are fixed now, on purpose
  trap "kill $hammer_pid 2>/dev/null; wait $hammer_pid 2>/dev/null; '$root/scripts/postgres.sh' stop $name" EXIT
}
