#!/usr/bin/env bash
# checkov pins an older pycep-parser than the infra tests use, so it gets a venv of its own.
# Prints the checkov executable; use as: export CHECKOV="$(bash tests/infra/install_checkov.sh)"
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${DAFX_CHECKOV_VENV:-$here/../../.venv-checkov}"
if [ ! -x "$venv/bin/checkov" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$here/requirements-checkov.txt" >&2
fi
echo "$(cd "$venv" && pwd)/bin/checkov"
