#!/usr/bin/env bash
# Installs nginx for deploy/nginx's test when it is not on PATH. The test
# runs this script itself (exec.Command); scripts/test does not need to
# know. Debian's package is used: the test needs the http_auth_request
# module, which Debian builds into its nginx binary.
#
# Exit status 0 when nginx is usable afterwards, non-zero otherwise (the
# test then skips with this script's output, or fails under CI=true).
set -euo pipefail

if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
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
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# nginx-light would do too; the plain package is what the docs describe.
$SUDO apt-get install -y -qq --no-install-recommends nginx >/dev/null
# The package's own service is not wanted: the test runs its own nginx.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
fi
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]
