# Scenario 12: an Open vSwitch bridge instead of a Linux bridge.
#
# The network block is the same as for any bridge; "bridge.driver" =
# "openvswitch" makes LXD build it with Open vSwitch (ovs-vsctl add-br)
# instead of a Linux bridge. DHCP, NAT, static NIC addresses and network
# forwards work on it as on a Linux bridge. The LXD host needs Open vSwitch
# installed and running, and a datapath for the bridge: the kernel's
# openvswitch module, or OVS's userspace datapath (see README.md here).

variable "owner" {
  type    = string
  default = "example-ovs"
}
variable "bridge" {
  type    = string
  default = "lxnovs0"
}
variable "prefix" {
  type    = string
  default = "ovs"
}
variable "subnet" {
  type    = string
  default = "10.231.12.0/24"
}
variable "floating_ip" {
  type    = string
  default = "198.51.100.12"
}

lxnet {
  owner = var.owner
}

network "ovs" {
  name = var.bridge
  config = {
    "bridge.driver" = "openvswitch"
    "ipv4.address"  = "${cidrhost(var.subnet, 1)}/24"
    "ipv4.nat"      = "true"
    "ipv6.address"  = "none"
  }
}

# A container on the OVS bridge, with a static address (a DHCP reservation
# of LXD's dnsmasq on the bridge).
node "web" {
  name  = "${var.prefix}-web"
  image = "busybox"
  device "eth0" {
    type = "nic"
    properties = {
      network        = network.ovs.name
      name           = "eth0"
      "ipv4.address" = cidrhost(var.subnet, 10)
    }
  }
}

# A NIC attached by parent rather than by network: LXD sees that the parent
# is an Open vSwitch bridge and adds the container's veth as an OVS port
# (a Linux bridge would get it as a bridge port). Its address comes from
# the bridge's DHCP.
node "worker" {
  name  = "${var.prefix}-worker"
  image = "busybox"
  device "eth0" {
    type = "nic"
    properties = {
      nictype = "bridged"
      parent  = network.ovs.name
      name    = "eth0"
    }
  }
}

# A network forward on the OVS bridge: LXD's DNAT on the host sends the
# floating IP's port 80 through the bridge to the container.
service "web" {
  node = node.web
  port "http" {
    listen = "${var.floating_ip}:80"
    via    = "forward"
  }
}
