#!/usr/bin/env bash
# A real Python 3.13 for the template's tests: a minimal Debian trixie root (debootstrap) whose
# python3.13 is entered with chroot. It lives outside the repository and is made once, then
# reused, because making it downloads about 270 MB from Debian's registry.
#
#   bash scripts/python313.sh          make the root if needed, refresh its CA bundle and DNS
#                                      settings, print its path
#   bash scripts/python313.sh --where  print where the root is (or would be) and change nothing;
#                                      exit 0 if it is ready, 1 if it is not made yet
#
# Needs root (debootstrap and chroot do). Installs debootstrap with apt-get when it is missing.
# DAFX_PY313_ROOT chooses another place; DAFX_DEBIAN_MIRROR another Debian mirror.
set -euo pipefail
root="${DAFX_PY313_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/dafx-func/trixie-python3.13}"
ready="$root/etc/dafx-python3.13-ready"

if [ "${1:-}" = "--where" ]; then
  echo "$root"
  [ -f "$ready" ]
  exit
fi
if [ "$#" -gt 0 ]; then
  echo "usage: bash scripts/python313.sh [--where]" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/python313.sh needs root: debootstrap and chroot do. Run it with sudo." >&2
  exit 1
fi

if [ ! -f "$ready" ]; then
  if ! command -v debootstrap >/dev/null; then
    echo "Installing debootstrap with apt-get ..." >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
  fi
  # Built beside its final place and moved there only when complete, so an interrupted run
  # never leaves a root that looks ready.
  partial="$root.partial"
  rm -rf "$partial"
  mkdir -p "$(dirname "$root")"
  echo "Creating a Debian trixie root with python3.13 in $root (a few minutes) ..." >&2
  started=$SECONDS
  debootstrap --variant=minbase --include=python3.13,python3.13-venv \
    trixie "$partial" ${DAFX_DEBIAN_MIRROR:+"$DAFX_DEBIAN_MIRROR"} >&2
  chroot "$partial" python3.13 -c 'import ensurepip, venv, ssl, sqlite3'
  chroot "$partial" python3.13 --version > "$partial/etc/dafx-python3.13-ready"
  rm -rf "$root"
  mv "$partial" "$root"
  echo "Root ready in $((SECONDS - started)) s: $(cat "$ready")" >&2
fi

# pip inside the root verifies PyPI's certificate and resolves names with the host's settings.
mkdir -p "$root/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
echo "$root"
