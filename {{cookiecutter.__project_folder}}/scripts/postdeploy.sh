#!/bin/sh
# azd runs this after `azd deploy` (and `azd up`) with the deployment outputs in the environment.
# It syncs the Function App's triggers so queued durable work starts without a manual Refresh in
# the portal (see scripts/sync_triggers.py).
set -eu

cd "$(dirname "$0")/.."

if command -v python3 >/dev/null 2>&1; then
  python=python3
else
  python=python
fi
"$python" scripts/sync_triggers.py
