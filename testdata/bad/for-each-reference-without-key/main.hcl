network "lan" {
  for_each = { a = "10.231.21.1/24", b = "10.231.22.1/24" }
  name     = "lxn${each.key}0"
  config   = { "ipv4.address" = each.value }
}

node "web" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lan.name }
  }
}
