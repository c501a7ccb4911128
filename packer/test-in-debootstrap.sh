#!/usr/bin/env bash
# Runs the image's provisioning in a fresh Debian 12 root made with
# debootstrap, then starts platformd there (inside a network namespace of its
# own) and asks `platform --json system info`. Needs root, network access to
# the Debian mirror, and a built checkout (npm run build).
#   bash packer/test-in-debootstrap.sh            (about 2-3 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."

ROOT=/var/tmp/ps-image-$$
NS=psimg$$
MIRROR=${MIRROR:-http://deb.debian.org/debian}
cleanup() {
  set +e
  [ -n "${DAEMON:-}" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null
  for m in proc sys dev/pts dev; do umount -l "$ROOT/$m" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null
  rm -rf "$ROOT"
}
trap cleanup EXIT

start=$(date +%s)
echo "debootstrap into $ROOT"
debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >/dev/null
for m in proc sys dev dev/pts; do mkdir -p "$ROOT/$m"; done
mount -t proc proc "$ROOT/proc"
mount --bind /sys "$ROOT/sys"
mount --bind /dev "$ROOT/dev"
mount --bind /dev/pts "$ROOT/dev/pts"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"

# The product as the image gets it: the built bundle and its native modules.
mkdir -p "$ROOT/tmp/product" "$ROOT/tmp/units"
cp -a package.json bin dist node_modules "$ROOT/tmp/product/"
cp -a packer/systemd/. "$ROOT/tmp/units/"
cp packer/scripts/provision.sh "$ROOT/tmp/provision.sh"
cp "$(command -v node)" "$ROOT/tmp/node"

echo "provisioning"
chroot "$ROOT" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  NODE_BINARY=/tmp/node PRODUCT_DIR=/tmp/product UNITS_DIR=/tmp/units bash /tmp/provision.sh

echo "starting platformd in the image"
ip netns add "$NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" chroot "$ROOT" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /usr/local/bin/platformd --home /opt/platform --firewall apply > "$ROOT/tmp/platformd.log" 2>&1 &
DAEMON=$!
for _ in $(seq 1 100); do [ -S "$ROOT/opt/platform/run/platformd.sock" ] && break; sleep 0.1; done
chroot "$ROOT" env -i PATH=/usr/local/bin:/usr/bin:/bin /usr/local/bin/platform --home /opt/platform system setup --hostname image01 --role unified >/dev/null
info=$(chroot "$ROOT" env -i PATH=/usr/local/bin:/usr/bin:/bin /usr/local/bin/platform --home /opt/platform --json system info)
echo "$info"
echo "$info" | grep -q '"hostname": "image01"'
if ! ip netns exec "$NS" nft list chain inet platform input | grep -q 'policy drop'; then
  echo "the firewall is not in the kernel; platformd said:"; cat "$ROOT/tmp/platformd.log"; exit 1
fi
echo "image test passed in $(( $(date +%s) - start )) s"
