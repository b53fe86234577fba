# Scenario 6: containers on the host's physical LAN next to a bridged one.
#
# - "web" sits on an LXD bridge with a static address (a DHCP reservation),
#   MAC filtering on its NIC, and the bridge's DNS answering for it.
# - "edge" joins the LAN through a managed macvlan network, "probe" through
#   a macvlan NIC written directly on the parent interface, and "nas" gets a
#   whole interface of the host (nictype physical). LXD gives these NICs no
#   address: the LAN's DHCP server hands out fixed addresses by MAC, so the
#   MACs are pinned here (hwaddr).
#
# As always with macvlan, the host cannot reach its own macvlan children
# through the parent interface; other machines on the LAN can.

variable "owner" {
  type    = string
  default = "example-macvlan"
}
variable "prefix" {
  type    = string
  default = "mv"
}
variable "bridge" {
  type    = string
  default = "lxnmv0"
}
variable "subnet" {
  type    = string
  default = "10.231.16.0/24"
}
variable "dns_domain" {
  type    = string
  default = "lan16"
}
variable "dns_mode" {
  type    = string
  default = "managed" # managed | dynamic | none
}
# The host's interface on the LAN that macvlan NICs hang off.
variable "parent" {
  type    = string
  default = "eth1"
}
# A spare host interface handed over to the "nas" container whole.
variable "physical" {
  type    = string
  default = "eth2"
}

lxnet {
  owner = var.owner
  # Containers dropped from this file are deleted (a physical NIC then goes
  # back to the host), not merely reported as orphaned.
  delete_instances = true
}

network "lan" {
  name = var.bridge
  config = {
    "ipv4.address" = "${cidrhost(var.subnet, 1)}/24"
    "ipv4.nat"     = true
    "ipv6.address" = "none"
    "dns.mode"     = var.dns_mode
    "dns.domain"   = var.dns_domain
  }
}

network "uplink" {
  name   = "${var.prefix}-up"
  type   = "macvlan"
  config = { parent = var.parent }
}

node "web" {
  name  = "${var.prefix}-web"
  image = "busybox"
  device "eth0" {
    type = "nic"
    properties = {
      network                  = network.lan.name
      name                     = "eth0"
      "ipv4.address"           = cidrhost(var.subnet, 10)
      "security.mac_filtering" = true
    }
  }
}

node "edge" {
  name  = "${var.prefix}-edge"
  image = "busybox"
  device "eth0" {
    type = "nic"
    properties = {
      network = network.uplink.name
      name    = "eth0"
      hwaddr  = "00:16:3e:06:00:11"
    }
  }
}

node "probe" {
  name  = "${var.prefix}-probe"
  image = "busybox"
  device "eth0" {
    type = "nic"
    properties = {
      nictype = "macvlan"
      parent  = var.parent
      name    = "eth0"
      hwaddr  = "00:16:3e:06:00:12"
    }
  }
}

node "nas" {
  name  = "${var.prefix}-nas"
  image = "busybox"
  device "eth0" {
    type = "nic"
    properties = {
      nictype = "physical"
      parent  = var.physical
      name    = "eth0"
      hwaddr  = "00:16:3e:06:00:13"
    }
  }
}
