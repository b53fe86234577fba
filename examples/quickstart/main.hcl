# Quickstart: one bridge, one busybox container with a static address, and
# its web server published on a floating IP through an LXD network forward.
#
# Every name and address is a variable so the same files run on a shared test
# LXD (the integration test and `make demo` pass unique values with --var).

variable "owner" {
  type    = string
  default = "quickstart"
}
variable "bridge" {
  type    = string
  default = "lxnqs0"
}
variable "node" {
  type    = string
  default = "qs-web1"
}
variable "subnet" {
  type    = string
  default = "10.231.10.0/24"
}
variable "floating_ip" {
  type    = string
  default = "198.51.100.10"
}

lxnet {
  owner = var.owner
}

network "lan" {
  name = var.bridge
  type = "bridge"
  config = {
    "ipv4.address" = "${cidrhost(var.subnet, 1)}/24"
    "ipv4.nat"     = true
    "ipv6.address" = "none"
  }
}

node "web" {
  name  = var.node
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
    via         = "forward"
  }
}
