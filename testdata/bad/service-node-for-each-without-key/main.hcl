network "lan" {
  name   = "lxnbr0"
  config = { "ipv4.address" = "10.231.20.1/24" }
}

node "web" {
  for_each = { web1 = "10.231.20.11", web2 = "10.231.20.12" }
  image    = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lan.name, "ipv4.address" = each.value }
  }
}

service "web" {
  node = node.web
  port "http" {
    listen = "198.51.100.20:80"
  }
}
