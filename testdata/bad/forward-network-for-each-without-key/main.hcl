network "lan" {
  for_each = { a = "10.231.21.1/24" }
  name     = "lxn${each.key}0"
  config   = { "ipv4.address" = each.value }
}
node "web" {
  for_each = { a = "10.231.21.10" }
  image    = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lan["a"].name, "ipv4.address" = each.value }
  }
}
forward "f" {
  network        = network.lan
  listen_address = "198.51.100.21"
  port {
    listen_port = "80"
    target      = node.web
  }
}
