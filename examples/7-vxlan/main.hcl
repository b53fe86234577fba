# Scenario 7: one bridge spanning two LXD hosts through a VXLAN tunnel.
#
# The bridge has the same name on both hosts; LXD's tunnel.NAME.* keys add a
# VXLAN device to it, unicast to the peer host (or, with
# tunnel_mode = "multicast", to a multicast group on the underlay). Only vm1's side runs DHCP and
# routes out (the gateway of the whole overlay); vm2's side carries no
# address, so its containers get their leases from vm1 through the tunnel.
# bridge.mtu leaves room for the VXLAN header (50 bytes) under the hosts' MTU.

variable "owner" {
  type    = string
  default = "example-vxlan"
}
variable "prefix" {
  type    = string
  default = "vx"
}
variable "bridge" {
  type    = string
  default = "lxnvx0"
}
variable "subnet" {
  type    = string
  default = "10.231.17.0/24"
}
variable "vni" {
  type    = number
  default = 17
}
# How the two ends find each other: "unicast" (tunnel.lxn.local/remote, one
# peer) or "multicast" (tunnel.lxn.group on tunnel.lxn.interface, any number
# of hosts that join the group on the same underlay segment).
variable "tunnel_mode" {
  type    = string
  default = "unicast"
  validation {
    condition     = contains(["unicast", "multicast"], var.tunnel_mode)
    error_message = "tunnel_mode is \"unicast\" or \"multicast\"."
  }
}
variable "group" {
  type    = string
  default = "239.231.17.1" # administratively scoped (RFC 2365)
}
variable "underlay_interface" {
  type    = string
  default = "eth0" # the hosts' interface on the underlay
}
variable "client_cert" {
  type    = string
  default = "certs/client.crt"
}
variable "client_key" {
  type    = string
  default = "certs/client.key"
}
variable "vm1_address" {
  type    = string
  default = "https://10.231.18.11:8443"
}
variable "vm1_fingerprint" {
  type    = string
  default = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
}
variable "vm1_underlay" {
  type    = string
  default = "10.231.18.11"
}
variable "vm2_address" {
  type    = string
  default = "https://10.231.18.12:8443"
}
variable "vm2_fingerprint" {
  type    = string
  default = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
}
variable "vm2_underlay" {
  type    = string
  default = "10.231.18.12"
}

lxnet {
  owner = var.owner
  # A node dropped from this file is deleted, not only reported as orphaned.
  delete_instances = true
}

remote "vm1" {
  address            = var.vm1_address
  client_cert        = var.client_cert
  client_key         = var.client_key
  server_fingerprint = var.vm1_fingerprint
}

remote "vm2" {
  address            = var.vm2_address
  client_cert        = var.client_cert
  client_key         = var.client_key
  server_fingerprint = var.vm2_fingerprint
}

locals {
  # Each host's end of the tunnel, and what its side of the bridge does.
  sides = {
    vm1 = {
      local = var.vm1_underlay, remote = var.vm2_underlay
      ipv4  = { "ipv4.address" = "${cidrhost(var.subnet, 1)}/24", "ipv4.nat" = true }
    }
    vm2 = {
      local = var.vm2_underlay, remote = var.vm1_underlay
      ipv4  = { "ipv4.address" = "none" }
    }
  }
  # The tunnel keys of each side, by mode. Switching modes is one in-place
  # update per host: LXD gets the whole new config in one PUT, so there is no
  # moment with neither remote nor group (which LXD would refuse).
  tunnel = {
    unicast = { for side, s in local.sides : side => {
      "tunnel.lxn.local"  = s.local
      "tunnel.lxn.remote" = s.remote
    } }
    multicast = { for side, s in local.sides : side => {
      "tunnel.lxn.group"     = var.group
      "tunnel.lxn.interface" = var.underlay_interface
    } }
  }
}

network "overlay" {
  for_each = local.sides
  remote   = each.key
  name     = var.bridge
  config = merge(each.value.ipv4, {
    "ipv6.address"        = "none"
    "bridge.mtu"          = 1300
    "tunnel.lxn.protocol" = "vxlan"
    "tunnel.lxn.id"       = var.vni
  }, local.tunnel[var.tunnel_mode][each.key])
}

# On vm1, with a static address: a DHCP reservation, which only the side
# running DHCP can hold.
node "web" {
  remote = remote.vm1
  name   = "${var.prefix}-web"
  image  = "busybox"
  device "eth0" {
    type = "nic"
    properties = {
      network        = network.overlay["vm1"].name
      name           = "eth0"
      "ipv4.address" = cidrhost(var.subnet, 10)
    }
  }
}

# On vm2: leased by vm1's DHCP through the tunnel.
node "client" {
  remote = remote.vm2
  name   = "${var.prefix}-client"
  image  = "busybox"
  device "eth0" {
    type = "nic"
    properties = {
      network = network.overlay["vm2"].name
      name    = "eth0"
    }
  }
}
