# One Debian 12 image for every node role; the role is chosen at first boot.
# Two sources, provisioned alike (README, "For installers"):
#   qemu.debian12  Debian's netinst ISO and a preseed (needs the internet; KVM by default)
#   qemu.offline   a base disk made here from Debian's packages by packer/base-disk.sh
#   packer build -only=qemu.offline -var base_disk=base.qcow2 -var accelerator=tcg \
#     -var node_binary=$(node -p process.execPath) -var product_tarball=platform-shell.tgz packer/platform.pkr.hcl

packer {
  required_version = ">= 1.6.6"
}

variable "version" {
  type        = string
  default     = "0.1.0"
  description = "Product version baked into the image name."
}

variable "disk_size" {
  type        = string
  default     = "20G"
  description = "Virtual disk size."
}

variable "iso_url" {
  type        = string
  description = "qemu.debian12: where Debian 12's netinst ISO is (required, no default: the repository names no download host; README, For installers)."
}

variable "mirror_host" {
  type        = string
  description = "qemu.debian12: the Debian mirror's host[:port] the installer uses (bash packer/mirror.sh writes it from this machine's apt sources)."
}

variable "mirror_directory" {
  type        = string
  description = "qemu.debian12: the mirror's Debian directory, e.g. /debian (bash packer/mirror.sh writes it)."
}

variable "iso_checksum" {
  type        = string
  default     = ""
  description = "sha256:<hex> of the ISO, from Debian's SHA256SUMS (required: an image is never built from an unchecked ISO)."
}

variable "ssh_username" {
  type        = string
  default     = "installer"
  description = "Build-time account (removed at the end of provisioning)."
}

variable "ssh_password" {
  type      = string
  default   = "installer"
  sensitive = true
}

variable "output_directory" {
  type    = string
  default = "output"
}

variable "node_binary" {
  type        = string
  default     = ""
  description = "Unused: the release file carries the runtime the product was built with (kept so that older command lines still validate)."
}

variable "base_disk" {
  type        = string
  default     = ""
  description = "qemu.offline: the base disk made by packer/base-disk.sh."
}

variable "accelerator" {
  type        = string
  default     = "kvm"
  description = "QEMU accelerator: kvm, or tcg where KVM guests cannot run (no nested virtualisation)."
}

variable "product_tarball" {
  type        = string
  description = "The product root made from the release file (packer/image.mjs productRootTarball): releases/<version>/, current, trusted-keys (README, Keeping nodes current)."
}

source "qemu" "debian12" {
  iso_url          = var.iso_url
  iso_checksum     = var.iso_checksum
  disk_size        = var.disk_size
  format           = "qcow2"
  accelerator      = var.accelerator
  memory           = 2048
  cpus             = 2
  headless         = true
  http_directory   = "packer/http"
  ssh_username     = var.ssh_username
  ssh_password     = var.ssh_password
  ssh_timeout      = "30m"
  shutdown_command = "echo '${var.ssh_password}' | sudo -S systemctl poweroff"
  output_directory = var.output_directory
  vm_name          = "platform-${var.version}.qcow2"
  boot_wait        = "5s"
  boot_command = [
    "<esc><wait>",
    "auto url=http://{{ .HTTPIP }}:{{ .HTTPPort }}/preseed.cfg ",
    "mirror/http/hostname=${var.mirror_host} mirror/http/directory=${var.mirror_directory} ",
    "hostname=platform domain=local ",
    "<enter>"
  ]
}

# The base disk boots with extlinux; Packer logs in with its build account.
# Forwards listen on 127.0.0.1 only (Packer's own default listens everywhere).
source "qemu" "offline" {
  disk_image       = true
  iso_url          = var.base_disk
  iso_checksum     = "none"
  skip_resize_disk = true
  format           = "qcow2"
  accelerator      = var.accelerator
  machine_type     = "q35"
  memory           = 1024
  cpus             = 2
  headless         = true
  vnc_bind_address = "127.0.0.1"
  disk_interface   = "virtio"
  qemuargs = [
    ["-cpu", "max"],
    ["-device", "virtio-rng-pci"],
    ["-netdev", "user,id=user.0,hostfwd=tcp:127.0.0.1:{{ .SSHHostPort }}-:22"],
    ["-device", "virtio-net,netdev=user.0"],
  ]
  ssh_username     = var.ssh_username
  ssh_password     = var.ssh_password
  ssh_timeout      = "30m"
  shutdown_command = "echo '${var.ssh_password}' | sudo -S systemctl poweroff"
  output_directory = var.output_directory
  vm_name          = "platform-${var.version}.qcow2"
  boot_wait        = "1s"
}

build {
  sources = ["source.qemu.debian12", "source.qemu.offline"]

  provisioner "file" {
    source      = var.product_tarball
    destination = "/tmp/platform-shell.tgz"
  }

  provisioner "shell" {
    execute_command = "echo '${var.ssh_password}' | sudo -S env {{ .Vars }} bash '{{ .Path }}'"
    environment_vars = [
      "PRODUCT_TARBALL=/tmp/platform-shell.tgz",
      "BUILD_USER=${var.ssh_username}",
      "MANIFEST=/tmp/platform-manifest.json",
      "SEAL=yes"
    ]
    script = "packer/scripts/provision.sh"
  }

  # What the image holds: product version, Node version, Debian package versions.
  provisioner "file" {
    direction   = "download"
    source      = "/tmp/platform-manifest.json"
    destination = "${var.output_directory}/platform-${var.version}.manifest.json"
  }

  post-processor "checksum" {
    checksum_types = ["sha256"]
    output         = "${var.output_directory}/platform-${var.version}.qcow2.{{.ChecksumType}}"
  }
}
