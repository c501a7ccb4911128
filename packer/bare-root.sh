# A bare Debian 12 root to chroot into, shared by base-disk.sh and
# test-in-debootstrap.sh (sourced, not run): debootstrap --variant=minbase,
# or its cached tarball, with /proc, /sys and /dev mounted.
#   MIRROR=url          Debian mirror (default: the one this machine's apt is configured with;
#                       the repository names none: without either, debootstrap is refused)
#   ROOTFS_CACHE=file   the bare root as a tarball, made once and reused
#                       (default /var/cache/platform-shell/bookworm-minbase.tar.gz; empty: no cache)

PATH_IN=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ROOTFS_CACHE=${ROOTFS_CACHE-/var/cache/platform-shell/bookworm-minbase.tar.gz}

configured_mirror() {
  # deb822 stanzas (URIs before Suites), then the one-line format.
  awk '/^URIs:/ {uri=$2} /^Suites:/ && / bookworm( |$)/ {print uri; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true
  awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true
}
MIRROR=${MIRROR:-$(configured_mirror | head -1)}

# require_mirror: the mirror, or a message saying how to give one.
require_mirror() {
  if [ -z "$MIRROR" ]; then
    echo "no Debian mirror: this machine's apt sources (/etc/apt/sources.list, /etc/apt/sources.list.d/*.sources) name none for bookworm; give one with MIRROR=http://<mirror>/debian" >&2
    return 1
  fi
}

# make_bare_root DIR: the root in DIR, its kernel file systems mounted, the host's resolver copied in.
make_bare_root() {
  local root=$1
  local cached=
  [ -n "$ROOTFS_CACHE" ] && [ -s "$ROOTFS_CACHE" ] && cached=1
  [ -n "$cached" ] || require_mirror || return 1
  mkdir -p "$root"
  if [ -n "$cached" ]; then
    echo "bare root from $ROOTFS_CACHE"
    tar -xzf "$ROOTFS_CACHE" -C "$root"
  else
    echo "debootstrap bookworm from $MIRROR"
    debootstrap --variant=minbase bookworm "$root" "$MIRROR" >/dev/null
    if [ -n "$ROOTFS_CACHE" ]; then
      mkdir -p "$(dirname "$ROOTFS_CACHE")"
      tar -czf "$ROOTFS_CACHE.$$" -C "$root" . && mv "$ROOTFS_CACHE.$$" "$ROOTFS_CACHE"
    fi
  fi
  for m in proc sys dev dev/pts; do mkdir -p "$root/$m"; done
  mount -t proc proc "$root/proc"
  mount --bind /sys "$root/sys"
  mount --bind /dev "$root/dev"
  mount --bind /dev/pts "$root/dev/pts"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
}

# unmount_bare_root DIR: what make_bare_root mounted (lazily: a process may still hold it).
unmount_bare_root() {
  for m in dev/pts dev sys proc; do umount -l "$1/$m" 2>/dev/null; done
  return 0
}
