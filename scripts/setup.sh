#!/usr/bin/env bash
# Create .venv and install renown with the given extras (default: dev; "base" for
# none), once per change of pyproject.toml. Called by demo.sh and test.sh; safe to run alone.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
extras="${1:-dev}"
python="${PYTHON:-python3}"
"$python" - <<'PY' || { echo "renown needs Python >= 3.11 (found $("$python" --version 2>&1))" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY
venv="$root/.venv"
stamp="$venv/.renown-installed"
want="$(cat "$root/pyproject.toml" | sha256sum | cut -c1-16)-$extras"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setting up $venv (renown[$extras]) ..." >&2
  spec="$root[$extras]"
  [ "$extras" = base ] && spec="$root"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec"
  echo "$want" > "$stamp"
fi
