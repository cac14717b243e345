#!/usr/bin/env bash
# checkov pins an older pycep-parser than the infra tests use, so it gets a venv of its own.
# Prints the checkov executable; use as: export CHECKOV="$(bash tests/infra/install_checkov.sh)"
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
pins="$(sha256sum "$here/requirements-checkov.txt" | cut -c1-12)"
venv="${DAFX_CHECKOV_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/dafx-func/checkov-$pins}"
if [ ! -x "$venv/bin/checkov" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$here/requirements-checkov.txt" >&2
fi
echo "$(cd "$venv" && pwd)/bin/checkov"
