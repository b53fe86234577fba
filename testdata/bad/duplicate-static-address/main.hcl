# One static address on two nodes of one network: LXD refuses the second.
# Also after for_each expansion; both nodes are named.
network "lxnbr0" {
  config = { "ipv4.address" = "10.231.7.1/24" }
}

node "db" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lxnbr0.name, "ipv4.address" = "10.231.7.10" }
  }
}

node "web" {
  for_each = { a = "10.231.7.10", b = "10.231.7.20", c = "10.231.7.20" }
  image    = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lxnbr0.name, "ipv4.address" = each.value }
  }
}
