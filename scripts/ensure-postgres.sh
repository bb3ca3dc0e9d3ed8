#!/usr/bin/env bash
# Make a PostgreSQL server available for the integration tests: install Debian's postgresql when
# missing, start the installed cluster with pg_ctlcluster, and create the test role. Fails loudly:
# the store tests run on PostgreSQL for real, they are never skipped.
set -euo pipefail
ROLE=${WORKBENCH_TEST_PG_ROLE:-workbench_test}
if [ -n "${WORKBENCH_TEST_POSTGRES_URL:-}" ]; then exit 0; fi   # an existing server was named
if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /usr/lib/postgresql/*/bin/postgres 2>/dev/null)" ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing postgresql (Debian package)..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq postgresql >/dev/null || true
  fi
fi
if ! command -v pg_lsclusters >/dev/null; then
  echo "PostgreSQL is not installed: run 'sudo apt-get install postgresql', or set WORKBENCH_TEST_POSTGRES_URL to a server the tests may create databases on" >&2
  exit 1
fi
read -r VER NAME PORT STATUS _ < <(pg_lsclusters --no-header | head -n 1) || true
if [ -z "${VER:-}" ]; then
  VER=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  pg_createcluster "$VER" main >/dev/null
  read -r VER NAME PORT STATUS _ < <(pg_lsclusters --no-header | head -n 1)
fi
if [ "$STATUS" != "online" ]; then
  pg_ctlcluster "$VER" "$NAME" start
fi
for _ in $(seq 1 30); do
  runuser -u postgres -- psql -p "$PORT" -qAtc "select 1" >/dev/null 2>&1 && break
  sleep 0.5
done
runuser -u postgres -- psql -p "$PORT" -qAtc \
  "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN CREATE ROLE $ROLE LOGIN CREATEDB CREATEROLE PASSWORD '$ROLE'; END IF; END\$\$;" >/dev/null
# CREATEROLE: the secrets drill logs in as a role whose password holds "/" and "@"
runuser -u postgres -- psql -p "$PORT" -qAtc "ALTER ROLE $ROLE CREATEROLE" >/dev/null
mkdir -p .venv
echo "postgresql+psycopg://$ROLE:$ROLE@127.0.0.1:$PORT/postgres" > .venv/postgres-test-url
echo "postgresql $VER/$NAME online on port $PORT (role $ROLE)"
