# Scenario 3: a NAT-mode proxy device. LXD then installs DNAT rules instead
# of running a userspace proxy; it needs a static ipv4.address on the node's
# NIC and a concrete listen address, which lxnetd checks before any write.

variable "owner" {
  type    = string
  default = "example-nat"
}
variable "bridge" {
  type    = string
  default = "lxnnat0"
}
variable "prefix" {
  type    = string
  default = "nat"
}
variable "subnet" {
  type    = string
  default = "10.231.13.0/24"
}
variable "floating_ip" {
  type    = string
  default = "198.51.100.13"
}

lxnet {
  owner = var.owner
}

network "lan" {
  name = var.bridge
  config = {
    "ipv4.address" = "${cidrhost(var.subnet, 1)}/24"
    "ipv4.nat"     = true
    "ipv6.address" = "none"
  }
}

node "web" {
  name  = "${var.prefix}-web"
  image = "busybox"
  device "eth0" {
    type = "nic"
    properties = {
      network        = network.lan.name
      name           = "eth0"
      "ipv4.address" = cidrhost(var.subnet, 10)
    }
  }
}

service "web" {
  node = node.web
  port "http" {
    listen      = "${var.floating_ip}:80"
    target_port = 80
    via         = "nat"
  }
}
