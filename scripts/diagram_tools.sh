#!/usr/bin/env bash
# Installs what tests/test_workflow_diagrams_render.py renders diagrams with: Debian's chromium
# and the npm mermaid package at the version tests/mermaid_browser.py pins, in a cache outside
# the repository (~/.cache/dafx-func/mermaid-<version>, or $DAFX_MERMAID_DIR). Idempotent:
# what is already there is kept. Without these the test skips, naming this script.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
version=$(sed -n 's/^MERMAID_VERSION = "\(.*\)"$/\1/p' tests/mermaid_browser.py)
target="${DAFX_MERMAID_DIR:-$HOME/.cache/dafx-func/mermaid-$version}"

if ! command -v chromium > /dev/null && ! command -v chromium-browser > /dev/null; then
  if [ "$(id -u)" != "0" ]; then
    echo "diagram_tools: Chromium is missing; install it as root: apt-get install -y chromium" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
fi

if [ ! -f "$target/node_modules/mermaid/dist/mermaid.min.js" ]; then
  if ! command -v npm > /dev/null; then
    echo "diagram_tools: npm is missing; install Node.js with npm (apt-get install -y npm)" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$target")"
  # Installed beside the target and moved into place, so an interrupted install leaves no
  # half-filled folder that would look complete.
  partial=$(mktemp -d "$target.partial.XXXXXX")
  npm install --prefix "$partial" --no-audit --no-fund --no-save --silent "mermaid@$version"
  rm -rf "$target"
  mv "$partial" "$target"
fi

echo "diagram tools ready in $((SECONDS - started)) s: $(command -v chromium || command -v chromium-browser), mermaid $version at $target"
