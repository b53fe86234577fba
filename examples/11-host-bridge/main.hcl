# Seed 003: containers bridged straight onto an existing host bridge that
# lxnetd does not manage (the host's LAN bridge). No LXD network, no DHCP,
# no NAT: each container gets a static address, set by LXC when it starts
# (raw.lxc lxc.net.N.ipv4.*) because the image has no cloud-init.

variable "owner" {
  type    = string
  default = "example-host-bridge"
}
variable "prefix" {
  type    = string
  default = "hb"
}
variable "host_bridge" {
  type        = string
  default     = "br-lan"
  description = "an existing bridge on the host; lxnetd never creates, changes or deletes it"
}
variable "subnet" {
  type    = string
  default = "10.231.61.0/24"
}
variable "floating_ip" {
  type    = string
  default = "198.51.100.15"
}
variable "nodes" {
  type    = map(number) # name suffix -> host number of its address
  default = { a = 10, b = 11 }
}

lxnet {
  owner = var.owner
}

node "app" {
  for_each = var.nodes
  name     = "${var.prefix}-${each.key}"
  image    = "busybox"
  config = {
    # lxc.net.0 is the first NIC: eth0 below.
    "raw.lxc" = join("\n", [
      "lxc.net.0.ipv4.address = ${cidrhost(var.subnet, each.value)}/24",
      "lxc.net.0.ipv4.gateway = ${cidrhost(var.subnet, 1)}",
    ])
  }
  device "eth0" {
    type = "nic"
    properties = {
      nictype = "bridged"
      parent  = var.host_bridge
    }
  }
}

# A node on the host bridge is exposed like any other: a proxy device
# listens on the host and connects inside the container.
service "web" {
  node = node.app["a"]
  port "http" {
    listen = "${var.floating_ip}:80"
    via    = "proxy"
  }
}
