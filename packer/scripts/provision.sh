#!/usr/bin/env bash
# Provisions a Debian 12 system as a platform node (run as root): the product
# and the Node runtime it carries, the services it drives, the `platform` user and its
# folders, the sshd configuration and the systemd units. Used by the Packer
# build and by packer/test-in-debootstrap.sh.
#   PRODUCT_TARBALL  the product root made from the release file (packer/image.mjs
#                    productRootTarball: `platform-release install` of platform-<version>.psup):
#                    releases/<version>/, current, trusted-keys; the same files an upgrade installs
#   MANIFEST         where to write the image's manifest (JSON: product, Node and Debian package versions)
#   SEAL=yes         an image build: leave no host keys or machine id behind (each node makes its own)
set -euo pipefail

APP=/opt/platform-shell     # the product (read-only)
HOME_DIR=/opt/platform      # the node's data (PLATFORM_HOME)

export DEBIAN_FRONTEND=noninteractive
# systemd is there on a real install; a debootstrap root needs it for `systemctl enable`.
# dbus: hostnamectl talks to systemd-hostnamed through it. gpg: `security source` checks a key with it.
PACKAGES="systemd dbus nftables nginx-light openssh-server libpam-pwquality bubblewrap chrony iproute2 openssl ca-certificates procps libatomic1 snmpd logrotate gpg"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# Only what is missing: the offline build's base disk has them all and needs no mirror.
if [ -n "$missing" ]; then
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The product: its releases side by side, `current` the one in service (README, Keeping nodes current).
# It carries its runtime (the project's Node, see .node-version; its official build needs libatomic1),
# the first boot's ruleset (default deny, SSH open, loaded before the network without Node) and the units.
mkdir -p "$APP"
tar -xzf "$PRODUCT_TARBALL" -C "$APP"
[ -x "$APP/current/bin/platformd.js" ] || { echo "provision: $PRODUCT_TARBALL holds no installed release (current/bin/platformd.js)" >&2; exit 1; }
ln -sf "$APP/current/.runtime/node/bin/node" /usr/local/bin/node
node --version
ln -sf "$APP/current/bin/platform.js" /usr/local/bin/platform
ln -sf "$APP/current/bin/platformd.js" /usr/local/bin/platformd
# The units the release carries (the same an upgrade brings).
UNITS_DIR="$APP/current/systemd"

# The administrator account lands in the console; its data folder is root's.
# Its login shell is the console itself: the VM console and SSH both land there.
id platform >/dev/null 2>&1 || useradd --home-dir "$HOME_DIR" --no-create-home --shell /usr/local/bin/platform --user-group platform
usermod -p '*' platform  # key logins until `system password` sets one
install -d -m 0755 -o root -g root "$HOME_DIR"
install -d -m 0775 -o root -g platform "$HOME_DIR/media"
install -d -m 0750 -o root -g platform "$HOME_DIR/run"
install -d -m 0755 -o root -g root "$HOME_DIR/firewall"
grep -qx /usr/local/bin/platform /etc/shells || echo /usr/local/bin/platform >> /etc/shells

# sshd and PAM as the product configures them (platformd does it again at
# every start, so an upgrade brings them in line): console users land in the
# console, scp/sftp reach only media, failed logins lock an account.
node "$APP/current/bin/platformd.js" --home "$HOME_DIR" --appliance --install-ssh

# Units: the firewall before the network, then the daemon.
install -m 0644 "$UNITS_DIR"/*.service /etc/systemd/system/
# sshd makes the node's own host keys at its first start: Ed25519 and ECDSA,
# made in milliseconds (an RSA key takes minutes on an emulated CPU).
install -d /etc/systemd/system/ssh.service.d
cat >/etc/systemd/system/ssh.service.d/host-keys.conf <<'EOF'
[Service]
ExecStartPre=
ExecStartPre=/bin/sh -c 'for t in ed25519 ecdsa; do [ -s /etc/ssh/ssh_host_$${t}_key ] || ssh-keygen -q -t $$t -N "" -f /etc/ssh/ssh_host_$${t}_key; done'
ExecStartPre=/usr/sbin/sshd -t
EOF
printf 'HostKey /etc/ssh/ssh_host_ed25519_key\nHostKey /etc/ssh/ssh_host_ecdsa_key\n' >/etc/ssh/sshd_config.d/host-keys.conf
# The network is online once one interface is: an interface without DHCP on
# its network (a private cluster network before first boot gives it its
# ADDRESS=) must not hold platformd back for wait-online's two minutes.
install -d /etc/systemd/system/systemd-networkd-wait-online.service.d
printf '[Service]\nExecStart=\nExecStart=/lib/systemd/systemd-networkd-wait-online --any\n' >/etc/systemd/system/systemd-networkd-wait-online.service.d/any.conf
# A node's first boot enables units by preset: nginx stays off (platformd runs it).
install -d /etc/systemd/system-preset
echo 'disable nginx.service' >/etc/systemd/system-preset/20-platform.preset
# The first boot's questions are the product's (platform-firstboot), never systemd's.
ln -sf /dev/null /etc/systemd/system/systemd-firstboot.service
install -m 0755 "$UNITS_DIR"/platform-firewall-load "$UNITS_DIR"/platform-firstboot /usr/local/sbin/
# Links only (--no-reload): the image is powered off next, and each reload of
# a running systemd costs seconds under an emulated CPU.
systemctl --no-reload enable --quiet platform-firewall.service platformd.service platform-firstboot.service chrony.service ssh.service
# platformd runs the web server itself.
systemctl --no-reload disable --quiet nginx.service
# SNMP: platformd runs Debian's snmpd as platform-snmpd.service with the product's file; Debian's own unit stays off.
# No LVM, so e2scrub has nothing to check or reap (and would take a boot's CPU for it).
# apt never runs on its own: the product owns the schedule (`security update`, by hand or as a scheduled job).
for unit in snmpd.service e2scrub_reap.service e2scrub_all.timer apt-daily.timer apt-daily-upgrade.timer; do
  systemctl --no-reload disable --quiet "$unit" 2>/dev/null || true
done
# The platform's logs rotate daily, 28 kept, compressed.
install -m 0644 "$UNITS_DIR"/platform.logrotate /etc/logrotate.d/platform

if [ -n "${BUILD_USER:-}" ] && id "$BUILD_USER" >/dev/null 2>&1; then
  echo "the build account $BUILD_USER is removed at first boot" > /etc/platform-remove-build-user
  echo "$BUILD_USER" >> /etc/platform-remove-build-user
fi
if [ -n "${MANIFEST:-}" ]; then
  dpkg-query -W -f='${Package}\t${Version}\n' | node -e '
    const packages = Object.fromEntries(require("fs").readFileSync(0, "utf8").trim().split("\n").map((l) => l.split("\t")));
    const product = require(process.argv[1]);
    const manifest = { product: { name: product.name, version: product.version }, node: process.version, kernel: packages["linux-image-cloud-amd64"] ?? null,
      builtAt: new Date().toISOString(), debian: require("fs").readFileSync("/etc/debian_version", "utf8").trim(), packages };
    require("fs").writeFileSync(process.argv[2], JSON.stringify(manifest, null, 2) + "\n");' "$APP/current/package.json" "$MANIFEST"
fi
if [ "${SEAL:-}" = yes ]; then
  rm -f /etc/ssh/ssh_host_*
  : >/etc/machine-id
  rm -f /var/lib/dbus/machine-id
fi
echo "provisioned: $(node "$APP/current/bin/platform.js" --help | head -1)"
