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
exec "$venv/bin/python" -m pytest "$@"
