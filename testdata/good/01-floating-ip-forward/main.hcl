# Scenario 1: a floating IP on the host reaches several containers through
# an LXD network forward. The containers have static addresses on a bridge.

locals {
  subnet   = "10.231.10.0/24"
  floating = "198.51.100.20"
}

network "lxnbr10" {
  description = "web tier"
  config = {
    "ipv4.address" = "${cidrhost(local.subnet, 1)}/24"
    "ipv4.nat"     = true
    "ipv6.address" = "none"
  }
}

node "web" {
  count = 2
  name  = format("web%d", count.index + 1)
  image = "busybox"
  device "eth0" {
    type = "nic"
    properties = {
      network        = network.lxnbr10.name
      "ipv4.address" = cidrhost(local.subnet, 10 + count.index)
    }
  }
}

service "http" {
  node = node.web[0]
  port "http" {
    listen      = "${local.floating}:80"
    target_port = 8080
  }
}

forward "floating" {
  network        = network.lxnbr10
  listen_address = local.floating
  port {
    listen_port = 8081
    target      = node.web[0]
    target_port = 80
  }
  port {
    protocol       = "udp"
    listen_port    = "5000-5001"
    target_address = cidrhost(local.subnet, 11)
  }
}
