#!/usr/bin/env bash
# Bake a default project into .try/, serve it with the embedded development host and drive
# its workflows over HTTP, printing every request and response. Needs only Python 3.11+.
set -euo pipefail
cd "$(dirname "$0")/.."
template="$PWD"
venv="${DAFX_VENV:-.venv}"
work="$template/.try"
port="${DAFX_TRY_PORT:-7071}"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
python="$template/$venv/bin/python"
"$python" -m pip install --quiet --disable-pip-version-check cookiecutter==2.7.1
rm -rf "$work"
"$python" -m cookiecutter --no-input "$template" -o "$work"
project="$work/agent_workflows"
"$python" -m pip install --quiet --disable-pip-version-check -r "$project/requirements-dev.txt"

(cd "$project" && exec "$python" -m devhost --port "$port") >"$work/devhost.log" 2>&1 &
host_pid=$!
trap 'kill "$host_pid" 2>/dev/null || true' EXIT
"$python" scripts/drive.py "http://127.0.0.1:$port/api"
echo "Host log: $work/devhost.log"
