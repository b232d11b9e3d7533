#!/usr/bin/env bash
# Set up (first run only) and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh" dev,spark
cd "$root"
# a real PostgreSQL server for the application-database tests (they also run on SQLite)
pgdir="$(mktemp -d)"
trap '"$root/scripts/postgres.sh" stop "$pgdir"; rm -rf "$pgdir"' EXIT
export RENOWN_TEST_POSTGRES_URL="$("$root/scripts/postgres.sh" start "$pgdir")"
# Debian's Chromium for the dashboard's browser tests: installed if missing, and required
export RENOWN_CHROMIUM="$("$root/scripts/chromium.sh")"
export RENOWN_REQUIRE_BROWSER=1
# Java for the Spark engine's parity tests (PySpark comes with the spark extra): installed if missing
"$root/scripts/java.sh" >/dev/null
export RENOWN_REQUIRE_SPARK=1
status=0
"$root/.venv/bin/python" -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests (exit 5): nothing matched the selection" >&2
  exit 0
fi
exit "$status"
