#!/usr/bin/env bash
# Runs the image's provisioning in a fresh Debian 12 root made with
# debootstrap, then boots it the way the units do, inside a network namespace
# of its own: the firewall loader (default deny, SSH open), platformd with the
# unit's command line and capability bounding set, first boot from an answers
# file, `platform --json system info`, and on the next boot the last good
# ruleset. Needs root, the Debian mirror, and a built checkout (npm run build).
#   bash packer/test-in-debootstrap.sh     (npm test runs it too, test/packer; ~90 s, ~15-40 s with the cached root)
#   MIRROR, ROOTFS_CACHE  the mirror and the cached bare root (packer/bare-root.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=packer/bare-root.sh
. packer/bare-root.sh

ROOT=/var/tmp/ps-image-$$
NS=psimgd$$
in_root() { chroot "$ROOT" env -i PATH=$PATH_IN "$@"; }
in_image() { ip netns exec "$NS" chroot "$ROOT" env -i PATH=$PATH_IN PLATFORM_HOME=/opt/platform "$@"; }
fail() { echo "image test FAILED: $*" >&2; [ -f "$ROOT/tmp/platformd.log" ] && sed 's/^/  platformd: /' "$ROOT/tmp/platformd.log" >&2; exit 1; }

stop_daemon() {
  if [ -n "${DAEMON:-}" ]; then kill "$DAEMON" 2>/dev/null; wait "$DAEMON" 2>/dev/null; DAEMON=; fi
}
cleanup() {
  set +e
  stop_daemon
  unmount_bare_root "$ROOT"
  ip netns del "$NS" 2>/dev/null
  rm -rf "$ROOT"
}
trap cleanup EXIT
trap "exit 143" TERM INT
# Leftovers of an earlier run that was killed.
for ns in $(ip netns list | awk '/^psimgd[0-9]+/ {print $1}'); do
  kill -0 "${ns#psimgd}" 2>/dev/null || ip netns del "$ns"
done

start=$(date +%s)
make_bare_root "$ROOT"

# The product as the image gets it: the release file installed into a product root (packer/image.mjs).
node packer/image.mjs --product-root-tarball "$ROOT/tmp/platform-shell.tgz"
cp packer/scripts/provision.sh "$ROOT/tmp/provision.sh"

echo "provisioning"
in_root PRODUCT_TARBALL=/tmp/platform-shell.tgz bash /tmp/provision.sh

echo "checking the installed system"
[ "$(in_root getent passwd platform | cut -d: -f7)" = /usr/local/bin/platform ] || fail "the platform account's shell is not the console"
for unit in platform-firewall platformd platform-firstboot ssh chrony; do
  [ "$(in_root systemctl is-enabled "$unit.service")" = enabled ] || fail "$unit.service is not enabled"
done
[ "$(in_root systemctl is-enabled nginx.service || true)" = disabled ] || fail "nginx.service is enabled (platformd runs nginx)"
for unit in apt-daily.timer apt-daily-upgrade.timer; do
  [ "$(in_root systemctl is-enabled "$unit" || true)" != enabled ] || fail "$unit is enabled (apt never runs on its own: the product owns the schedule, security update)"
done
# The units as installed, their programs at their real paths.
verify=$(in_root systemd-analyze verify /etc/systemd/system/platform-firewall.service /etc/systemd/system/platformd.service /etc/systemd/system/platform-firstboot.service 2>&1) ||
  fail "systemd-analyze verify: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify: $verify"
mkdir -p "$ROOT/run/sshd"
sshd_check=$(in_root /usr/sbin/sshd -t 2>&1) || fail "sshd refuses its configuration: $sshd_check"
effective=$(in_root /usr/sbin/sshd -T -C user=platform,host=x,addr=192.0.2.1 2>&1) || fail "sshd -T: $effective"
grep -qx 'subsystem sftp /usr/lib/openssh/sftp-server' <<<"$effective" || fail "sftp does not go through the console: $(grep subsystem <<<"$effective")"
grep -qx 'allowtcpforwarding no' <<<"$effective" || fail "the platform account may forward ports"
grep -q 'pam_faillock.so preauth dir=/opt/platform/run/faillock' "$ROOT/etc/pam.d/sshd" || fail "sshd's PAM service does not lock accounts"
in_root test -e /lib/x86_64-linux-gnu/security/pam_pwquality.so || fail "pam_pwquality is not installed"
in_root sh -c 'command -v bwrap' >/dev/null || fail "bubblewrap is not installed (scp and sftp need it)"
in_root sh -c 'command -v gpg' >/dev/null || fail "gpg is not installed (security source checks keys with it)"

echo "boot: the firewall before the network"
ip netns add "$NS"
ip -n "$NS" link set lo up
in_image /usr/local/sbin/platform-firewall-load
boot=$(ip netns exec "$NS" nft list chain inet platform input)
grep -q 'policy drop' <<<"$boot" || fail "the boot ruleset does not deny by default: $boot"
grep -q 'tcp dport 22 accept' <<<"$boot" || fail "the boot ruleset does not admit SSH: $boot"

echo "boot: platformd as its unit runs it"
unit_value() { sed -n "s/^$1=//p" packer/systemd/platformd.service; }
caps=$(unit_value CapabilityBoundingSet | tr 'A-Z ' 'a-z\n' | sed 's/^cap_/+/' | paste -sd, -)
# shellcheck disable=SC2046 # the unit's command line, split as systemd splits it
ip netns exec "$NS" chroot "$ROOT" env -i PATH=$PATH_IN $(unit_value Environment) \
  setpriv --bounding-set "-all,$caps" --no-new-privs -- $(unit_value ExecStart) >"$ROOT/tmp/platformd.log" 2>&1 &
DAEMON=$!
for _ in $(seq 1 100); do [ -S "$ROOT/opt/platform/run/platformd.sock" ] && break; sleep 0.1; done
[ -S "$ROOT/opt/platform/run/platformd.sock" ] || fail "platformd did not open its socket"
grep -q "release .* matches its signed manifest" "$ROOT/tmp/platformd.log" || fail "platformd did not check its release against the signed manifest"

echo "first boot: unattended setup from the answers file"
printf 'HOSTNAME=image01\nROLE=unified\n# a comment\nDATA_CENTRE=dc1\n' >"$ROOT/opt/platform/setup.answers"
in_image /usr/local/sbin/platform-firstboot >/dev/null || fail "first boot setup failed"
[ -f "$ROOT/opt/platform/.setup-done" ] || fail "first boot did not mark itself done"
info=$(in_image /usr/local/bin/platform --json system info)
echo "$info"
node -e 'const i = JSON.parse(process.argv[1]); if (i.hostname !== "image01" || i.dataCentre !== "dc1" || i.roles.join() !== "unified") process.exit(1)' "$info" ||
  fail "system info does not show the answers"
[ "$(cat "$ROOT/etc/hostname")" = image01 ] || fail "the image's /etc/hostname was not written"
applied=$(ip netns exec "$NS" nft list chain inet platform input)
grep -q 'policy drop' <<<"$applied" || fail "platformd's ruleset does not deny by default: $applied"
[ -s "$ROOT/opt/platform/firewall/last-good.nft" ] || fail "platformd saved no last good ruleset"

echo "next boot: the last good ruleset"
stop_daemon
ip netns exec "$NS" nft flush ruleset
in_image /usr/local/sbin/platform-firewall-load
[ "$(ip netns exec "$NS" nft list chain inet platform input)" = "$applied" ] || fail "the next boot did not load the last good ruleset"

echo "image test passed in $(($(date +%s) - start)) s"
