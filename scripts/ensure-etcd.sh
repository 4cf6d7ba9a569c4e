#!/usr/bin/env bash
# The differential tests and the side-by-side benchmarks run etcd 3.4 as the reference. Install it from Debian's
# registry when it is missing (CI runs as root on a clean machine); say so plainly when that is not possible.
set -euo pipefail
if command -v etcd >/dev/null 2>&1 && command -v etcdctl >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "ensure-etcd: etcd is missing and this user cannot install packages; install etcd-server and etcd-client" >&2
    exit 1
  fi
fi
echo "ensure-etcd: installing etcd-server and etcd-client from Debian's registry"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq etcd-server etcd-client >/dev/null
# the Debian package may start a system etcd on the default ports; tests use their own ports and data dirs, but
# leave the machine as it was: stop it if it was started
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl stop etcd >/dev/null 2>&1 || true; fi
etcd --version | head -1
