#!/usr/bin/env bash
# Prints the Debian mirror of this build machine's apt configuration as Packer
# variables for the ISO source (qemu.debian12): the repository names no mirror.
#   bash packer/mirror.sh > mirror.pkrvars.hcl
#   packer build -only=qemu.debian12 -var-file=mirror.pkrvars.hcl ... packer/platform.pkr.hcl
#   MIRROR=http://<mirror>/debian   names one instead of apt's
set -euo pipefail
# shellcheck source=packer/bare-root.sh
. "$(dirname "$0")/bare-root.sh"
require_mirror
# http://host[:port]/directory, nothing else: the installer fetches over plain HTTP and checks signatures itself.
if ! [[ "$MIRROR" =~ ^http://([A-Za-z0-9.-]+(:[0-9]{1,5})?)(/[A-Za-z0-9._~/-]*)?$ ]]; then
  echo "the mirror \"$MIRROR\" is not http://host[:port]/directory" >&2
  exit 2
fi
host=${BASH_REMATCH[1]}
directory=${BASH_REMATCH[3]%/}
printf 'mirror_host      = "%s"\nmirror_directory = "%s"\n' "$host" "${directory:-/}"
