# One Debian 12 image for every node role; the role is chosen at first boot.
#   packer build -var node_tarball=node-v20.x-linux-x64.tar.xz -var product_tarball=platform-shell.tgz packer/platform.pkr.hcl

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
  type    = string
  default = "https://cdimage.debian.org/cdimage/archive/12.12.0/amd64/iso-cd/debian-12.12.0-amd64-netinst.iso"
}

variable "iso_checksum" {
  type        = string
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

variable "node_tarball" {
  type        = string
  description = "Node.js 20 linux-x64 tarball (Debian 12's own nodejs is 18)."
}

variable "product_tarball" {
  type        = string
  description = "The built product: package.json, bin, dist and production node_modules under one top folder (README, For installers)."
}

source "qemu" "debian12" {
  iso_url          = var.iso_url
  iso_checksum     = var.iso_checksum
  disk_size        = var.disk_size
  format           = "qcow2"
  accelerator      = "kvm"
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
    "hostname=platform domain=local ",
    "<enter>"
  ]
}

build {
  sources = ["source.qemu.debian12"]

  provisioner "file" {
    source      = var.node_tarball
    destination = "/tmp/node.tar.xz"
  }

  provisioner "file" {
    source      = var.product_tarball
    destination = "/tmp/platform-shell.tgz"
  }

  provisioner "file" {
    source      = "packer/systemd"
    destination = "/tmp/platform-units"
  }

  provisioner "shell" {
    execute_command = "echo '${var.ssh_password}' | sudo -S env {{ .Vars }} bash '{{ .Path }}'"
    environment_vars = [
      "NODE_TARBALL=/tmp/node.tar.xz",
      "PRODUCT_TARBALL=/tmp/platform-shell.tgz",
      "UNITS_DIR=/tmp/platform-units",
      "BUILD_USER=${var.ssh_username}"
    ]
    script = "packer/scripts/provision.sh"
  }
}
