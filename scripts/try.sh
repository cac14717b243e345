#!/usr/bin/env bash
# Bake a default project into .try/, serve it with the embedded development host and drive
# its workflows over HTTP, printing every request and response. Needs only Python 3.11+.
set -euo pipefail
cd "$(dirname "$0")/.."
template="$PWD"
venv="${DAFX_VENV:-.venv}"
work="$template/.try"
port="${DAFX_TRY_PORT:-7071}"

# Bound as devhost's server binds (SO_REUSEADDR): the connections a previous run's host closed
# linger in TIME_WAIT for a minute and do not stop it, only a process listening there does.
port_is_free='import socket, sys
probe = socket.socket()
probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
probe.bind(("127.0.0.1", int(sys.argv[1])))'
if ! python3 -c "$port_is_free" "$port" 2>/dev/null; then
  echo "try.sh: port $port is already in use, so the host answering there is not this one." >&2
  echo "Stop whatever listens on it, or pick another port: DAFX_TRY_PORT=7072 bash scripts/try.sh" >&2
  exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
python="$template/$venv/bin/python"
"$python" -m pip install --quiet --disable-pip-version-check cookiecutter==2.7.1
rm -rf "$work"
"$python" -m cookiecutter --no-input "$template" -o "$work"
project="$work/agent_workflows"
# From the project: its requirements name the devhost wheel by a path relative to it.
(cd "$project" && "$python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt)
# Azurite (npm) for the document batch: devhost starts it, as the project's local settings ask
# for the storage emulator. Without Node.js the batch is skipped and try.sh says so.
azurite_bin="$(bash "$template/scripts/azurite.sh")"
if [ -n "$azurite_bin" ]; then
  export PATH="$azurite_bin:$PATH"
fi

log="$work/devhost.log"
(cd "$project" && exec "$python" -m devhost --port "$port") >"$log" 2>&1 &
host_pid=$!
trap 'kill "$host_pid" 2>/dev/null || true' EXIT
if ! "$python" scripts/drive.py "http://127.0.0.1:$port/api" "$host_pid" "$log" "$project"; then
  echo "try.sh failed. The development host's log ($log) ends with:" >&2
  tail -n 20 "$log" >&2
  exit 1
fi
echo "Host log: $log"
