# A static address must be a host address of its managed network's subnet:
# LXD refuses one outside it, the gateway, the network and the broadcast
# address. A network that is not declared here is not checked.
network "lxnbr0" {
  config = { "ipv4.address" = "10.231.7.1/24" }
}

node "outside" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lxnbr0.name, "ipv4.address" = "10.231.8.10" }
  }
}

node "gateway" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lxnbr0.name, "ipv4.address" = "10.231.7.1" }
  }
}

node "netaddr" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lxnbr0.name, "ipv4.address" = "10.231.7.0" }
  }
}

node "broadcast" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lxnbr0.name, "ipv4.address" = "10.231.7.255" }
  }
}

node "fine" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lxnbr0.name, "ipv4.address" = "10.231.7.254" }
  }
}

node "unmanaged" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = "lxdbr0", "ipv4.address" = "192.168.99.1" }
  }
}
