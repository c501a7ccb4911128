#!/bin/sh
# Installs what the product and its tests need on Debian 12 (run as root):
# the Debian packages it drives, then the npm packages. Quick when all is there.
set -eu
cd "$(dirname "$0")/.."

PACKAGES="nftables iproute2 nginx-light openssh-server openssh-client openssl bubblewrap libpam-pwquality dnsmasq-base debootstrap packer iputils-ping traceroute tinyproxy-bin procps systemd"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq $missing >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
