#!/usr/bin/env bash
# Installs nginx for deploy/nginx's test when it is not on PATH.
# scripts/test (through scripts/test-setup) runs it before the tests; the
# test runs it too (exec.Command) when nginx is still missing, e.g. under a
# plain `go test`. Debian's package is used: the test needs the
# http_auth_request module, which Debian builds into its nginx binary.
# AUTHD_APT_UPDATED=1 skips `apt-get update` (the caller just ran it).
#
# Exit status 0 when nginx is usable afterwards, non-zero otherwise (the
# test then skips with this script's output, or fails under CI=true).
set -euo pipefail

# nginx on PATH, or in /usr/sbin (not on a user's PATH).
nginx_bin() { command -v nginx 2>/dev/null || echo /usr/sbin/nginx; }
if [ -x "$(nginx_bin)" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install.sh: apt-get not found; install nginx (with http_auth_request) by hand" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "install.sh: not root and no password-less sudo; install nginx by hand" >&2
    exit 1
  fi
fi
# env: sudo would drop DEBIAN_FRONTEND; the lock timeout waits for another apt.
apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300)
[ "${AUTHD_APT_UPDATED:-}" = 1 ] || $SUDO "${apt[@]}" update -qq
# nginx-light would do too; the plain package is what the docs describe.
$SUDO "${apt[@]}" install -y -qq --no-install-recommends nginx >/dev/null
# The package's own service is not wanted: the test runs its own nginx.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
elif command -v invoke-rc.d >/dev/null 2>&1; then # no systemd: the package's init script
  $SUDO update-rc.d nginx disable >/dev/null 2>&1 || true
  $SUDO invoke-rc.d nginx stop >/dev/null 2>&1 || true
fi
[ -x "$(nginx_bin)" ] || { echo "install.sh: apt-get ran, but nginx is still missing" >&2; exit 1; }
