#!/usr/bin/env bash
# Builds the base disk of the offline image build from Debian's packages only:
# a Debian 12 root (debootstrap), a Debian kernel, systemd, OpenSSH and the
# packages the product drives, on a partitioned disk that boots with extlinux.
# `packer build -only=qemu.offline` provisions it exactly as the ISO source's
# installed system. Needs root, the Debian mirror, loop devices, and on the
# host: debootstrap, extlinux, fdisk (sfdisk), e2fsprogs, qemu-utils.
#   bash packer/base-disk.sh OUT.qcow2
#   MIRROR, ROOTFS_CACHE  the mirror and the cached bare root (packer/bare-root.sh)
# The build account (installer/installer, in group sudo) is what Packer logs in
# with; provisioning arranges its removal at first boot.
set -euo pipefail
# shellcheck source=packer/bare-root.sh
. "$(dirname "$0")/bare-root.sh"

OUT=${1:?usage: base-disk.sh OUT.qcow2}
# The packages of the base: boot, systemd, SSH, and what the product drives
# (provision.sh installs only those missing, so an offline build needs no mirror).
PACKAGES="linux-image-cloud-amd64 systemd-sysv udev dbus openssh-server sudo
  nftables nginx-light libpam-pwquality bubblewrap chrony iproute2 openssl ca-certificates procps libatomic1 snmpd logrotate gpg"
DISK_SIZE=3G
WORK=/var/tmp/ps-base-$$
ROOT=$WORK/root
in_root() { chroot "$ROOT" env -i PATH=$PATH_IN DEBIAN_FRONTEND=noninteractive "$@"; }

LOOP=
cleanup() {
  set +e
  [ -n "$LOOP" ] && { umount "$WORK/mnt" 2>/dev/null; losetup -d "$LOOP"; }
  unmount_bare_root "$ROOT"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 143" TERM INT

start=$(date +%s)
mkdir -p "$WORK/mnt"
make_bare_root "$ROOT"

echo "installing the base packages"
in_root apt-get update -qq
# shellcheck disable=SC2086
in_root apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
in_root apt-get clean
rm -f "$ROOT"/var/lib/apt/lists/*_Packages "$ROOT"/var/lib/apt/lists/*_Translation-*

echo "configuring"
UUID=$(cat /proc/sys/kernel/random/uuid)
echo platform >"$ROOT/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tplatform\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$ROOT/etc/hosts"
echo "UUID=$UUID / ext4 errors=remount-ro 0 1" >"$ROOT/etc/fstab"
# The first wired interface by DHCP (systemd-networkd: part of systemd, no extra package).
cat >"$ROOT/etc/systemd/network/20-wired.network" <<'EOF'
[Match]
Name=en* eth*

[Network]
DHCP=yes
EOF
in_root systemctl enable --quiet systemd-networkd.service
: >"$ROOT/etc/resolv.conf"   # written by platformd from `network dns` (first boot's DNS=)
: >"$ROOT/etc/machine-id"     # a new one per node, at its first boot
# whose questions are the product's (platform-firstboot), never systemd's on the console.
ln -sf /dev/null "$ROOT/etc/systemd/system/systemd-firstboot.service"
in_root useradd --create-home --shell /bin/bash --groups sudo installer
in_root usermod -p "$(openssl passwd -6 installer)" installer
# Host keys are made per node at its first boot, never shared by every image:
# Ed25519 and ECDSA, made in milliseconds (an RSA key takes many seconds on an
# emulated CPU), as provision.sh makes them on the ISO source's system.
mkdir -p "$ROOT/etc/systemd/system/ssh.service.d"
cat >"$ROOT/etc/systemd/system/ssh.service.d/host-keys.conf" <<'EOF'
[Service]
ExecStartPre=
ExecStartPre=/bin/sh -c 'for t in ed25519 ecdsa; do [ -s /etc/ssh/ssh_host_$${t}_key ] || ssh-keygen -q -t $$t -N "" -f /etc/ssh/ssh_host_$${t}_key; done'
ExecStartPre=/usr/sbin/sshd -t
EOF
printf 'HostKey /etc/ssh/ssh_host_ed25519_key\nHostKey /etc/ssh/ssh_host_ecdsa_key\n' >"$ROOT/etc/ssh/sshd_config.d/host-keys.conf"
rm -f "$ROOT"/etc/ssh/ssh_host_*

kernel=$(cd "$ROOT/boot" && ls vmlinuz-* | sort -V | tail -1)
mkdir -p "$ROOT/boot/extlinux"
cat >"$ROOT/boot/extlinux/extlinux.conf" <<EOF
DEFAULT platform
PROMPT 0
TIMEOUT 0
LABEL platform
  LINUX /boot/$kernel
  INITRD /boot/initrd.img-${kernel#vmlinuz-}
  APPEND root=UUID=$UUID ro console=tty0 console=ttyS0,115200 net.ifnames=1
EOF
unmount_bare_root "$ROOT"

echo "making the disk"
# One bootable partition from sector 2048; the partition is built as a file
# of its own (mkfs.ext4 -d needs no mount), then copied into place.
truncate -s "$DISK_SIZE" "$WORK/disk.raw"
echo 'start=2048, type=83, bootable' | sfdisk -q "$WORK/disk.raw"
sectors=$(($(stat -c %s "$WORK/disk.raw") / 512 - 2048))
truncate -s $((sectors * 512)) "$WORK/part.raw"
mkfs.ext4 -q -U "$UUID" -L platform-root -d "$ROOT" "$WORK/part.raw"
LOOP=$(losetup --show -f "$WORK/part.raw")
mount "$LOOP" "$WORK/mnt"
extlinux --install "$WORK/mnt/boot/extlinux" 2>/dev/null
umount "$WORK/mnt"
losetup -d "$LOOP"
LOOP=
dd if="$WORK/part.raw" of="$WORK/disk.raw" bs=1M seek=1 conv=notrunc,sparse status=none
dd if=/usr/lib/EXTLINUX/mbr.bin of="$WORK/disk.raw" bs=440 count=1 conv=notrunc status=none
mkdir -p "$(dirname "$OUT")"
qemu-img convert -O qcow2 "$WORK/disk.raw" "$OUT.$$"
mv "$OUT.$$" "$OUT"
echo "base disk $OUT built in $(($(date +%s) - start)) s"
