network "lan" {
  name   = "lxnbr0"
  config = { "ipv4.address" = "10.231.20.1/24" }
}

node "blue" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lan.name, "ipv4.address" = "10.231.20.11" }
  }
}

node "green" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lan.name, "ipv4.address" = "10.231.20.12" }
  }
}

# Two single node blocks: one service block each, no for_each or count.
service "web" {
  nodes = [node.blue, node.green]
  port "http" {
    listen = "198.51.100.20:80"
  }
}
