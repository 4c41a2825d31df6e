#!/usr/bin/env bash
# `make run`: settings from local.env (unless set in the environment or .env), a project-local
# PostgreSQL when HAMMER_DATABASE_URL is not given, migrations, then server and worker.
#   scripts/run.sh [all|server|worker|migrate]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
what=${1:-all}
binary=${HAMMER_BINARY:-$root/.build/debug/hammer}

user_db_url=${HAMMER_DATABASE_URL:-}
if [ -z "$user_db_url" ] && [ -f .env ]; then
  user_db_url=$(grep -E '^\s*(export\s+)?HAMMER_DATABASE_URL=' .env | tail -1 | sed -E 's/^[^=]*=//') || true
fi

# local.env fills in what neither the environment nor .env sets.
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  key=${line%%=*}
  value=${line#*=}
  [ -n "${!key:-}" ] && continue
  [ -f .env ] && grep -qE "^\s*(export\s+)?$key=" .env && continue
  export "$key=$value"
done < local.env

if [ -z "$user_db_url" ]; then
  "$root/scripts/postgres.sh" start dev "${HAMMER_LOCAL_PG_PORT:-25429}"
  echo "run.sh: local PostgreSQL on 127.0.0.1:${HAMMER_LOCAL_PG_PORT:-25429} (data in .local/postgres-dev)" >&2
fi

"$binary" migrate
case "$what" in
migrate) ;;
*) exec "$binary" "$what" ;;
esac
