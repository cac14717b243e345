#!/usr/bin/env bash
# Azurite, the Azure Storage emulator, at the version the generated project's package.json
# pins, installed once into a cache folder (~/.cache/dafx-func/azurite-<version>, or
# $DAFX_AZURITE_DIR). Prints the folder holding its commands (azurite, azurite-blob), for PATH.
# Without npm it prints nothing and says on stderr that the tests needing Azurite will skip.
set -euo pipefail
cd "$(dirname "$0")/.."
package="{{cookiecutter.__project_folder}}/package.json"
version=$(sed -n 's/^ *"azurite": "\([^"]*\)".*$/\1/p' "$package")
target="${DAFX_AZURITE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dafx-func/azurite-$version}"

if [ ! -x "$target/node_modules/.bin/azurite-blob" ]; then
  if ! command -v npm > /dev/null || ! command -v node > /dev/null; then
    echo "azurite.sh: Node.js with npm is missing, so the tests that keep blobs in Azurite will" \
      "skip; install it (apt-get install -y nodejs npm) and run this again." >&2
    exit 0
  fi
  mkdir -p "$(dirname "$target")"
  # Installed beside the target and moved into place, so an interrupted install leaves no
  # half-filled folder that would look complete.
  partial=$(mktemp -d "$target.partial.XXXXXX")
  npm install --prefix "$partial" --no-audit --no-fund --no-save --silent "azurite@$version" >&2
  rm -rf "$target"
  mv "$partial" "$target"
fi
echo "$target/node_modules/.bin"
