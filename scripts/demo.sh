#!/usr/bin/env bash
# Set up (first run only) and run `renown demo`: generate a seeded multi-network
# dataset in the real export formats, ingest it, and show what was loaded.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh" dev
exec "$root/.venv/bin/renown" demo "$@"
