# LXD gives a nic its static IPv4 address through the bridge's DHCP: it
# refuses one on a bridge with ipv4.dhcp = false or without IPv4, unless
# the nic sets security.ipv4_filtering.
network "nodhcp" {
  name   = "lxnbr0"
  config = { "ipv4.address" = "10.231.7.1/24", "ipv4.dhcp" = false }
}

network "noipv4" {
  name   = "lxnbr1"
  config = { "ipv4.address" = "none", "ipv6.address" = "fd42:7::1/64" }
}

node "a" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.nodhcp.name, "ipv4.address" = "10.231.7.10" }
  }
}

node "b" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.noipv4.name, "ipv4.address" = "10.231.8.10" }
  }
}

node "filtered" {
  image = "busybox"
  device "eth0" {
    type = "nic"
    properties = {
      network                   = network.nodhcp.name
      "ipv4.address"            = "10.231.7.11"
      "security.ipv4_filtering" = true
    }
  }
}
