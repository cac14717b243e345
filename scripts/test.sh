#!/usr/bin/env bash
# The template's whole test suite on a fresh machine with Python 3.11+: creates .venv,
# installs the pinned test environment, runs pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${DAFX_VENV:-.venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
# checkov pins an older Bicep parser than the infra tests, so it lives in a venv of its own.
export CHECKOV="${CHECKOV:-$(bash tests/infra/install_checkov.sh)}"
# Azurite (npm) for the baked projects' Blob Storage tests; they skip, naming npm, without it.
azurite_bin="$(bash scripts/azurite.sh)"
if [ -n "$azurite_bin" ]; then
  export PATH="$azurite_bin:$PATH"
fi
exec "$venv/bin/python" -m pytest "$@"
