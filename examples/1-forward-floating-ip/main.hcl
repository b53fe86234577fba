# Scenario 1: a floating IP forwarded by LXD to several containers.
#
# A bridge with static container addresses; one network forward on the
# floating IP carries the ports of two services, each to its own container.
# lxnetd merges every port of one listen address into one forward (one write).

variable "owner" {
  type    = string
  default = "example-forward"
}
variable "bridge" {
  type    = string
  default = "lxnfw0"
}
variable "prefix" {
  type    = string
  default = "fw"
}
variable "subnet" {
  type    = string
  default = "10.231.11.0/24"
}
variable "floating_ip" {
  type    = string
  default = "198.51.100.11"
}

lxnet {
  owner = var.owner
}

network "lan" {
  name = var.bridge
  config = {
    "ipv4.address" = "${cidrhost(var.subnet, 1)}/24"
    "ipv4.nat"     = "true"
    "ipv6.address" = "none"
  }
}

# One container per entry, each with its static address.
node "app" {
  for_each = { a = 10, b = 11 }
  name     = "${var.prefix}-${each.key}"
  image    = "busybox"
  device "eth0" {
    type = "nic"
    properties = {
      network        = network.lan.name
      name           = "eth0"
      "ipv4.address" = cidrhost(var.subnet, each.value)
    }
  }
}

service "web" {
  node = node.app["a"]
  port "http" {
    listen = "${var.floating_ip}:80"
    via    = "forward"
  }
}

service "api" {
  node = node.app["b"]
  port "http" {
    listen      = "${var.floating_ip}:8080"
    target_port = 80
    via         = "forward"
  }
}

# A forward written directly, on the same listen address: merged with the
# service ports above into the one LXD forward of that address.
forward "extra" {
  network        = network.lan
  listen_address = var.floating_ip
  port {
    listen_port = "8081"
    target      = node.app["b"]
    target_port = "80"
  }
}
