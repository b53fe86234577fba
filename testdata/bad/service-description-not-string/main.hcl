network "lan" {
  name   = "lxnbr0"
  config = { "ipv4.address" = "10.231.21.1/24" }
}

node "web" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lan.name, "ipv4.address" = "10.231.21.11" }
  }
}

# A service's description is for humans only, but it is still checked.
service "web" {
  node        = node.web
  description = ["public", "site"]
  port "http" {
    listen      = "198.51.100.21:80"
    description = { text = "plain HTTP" }
  }
}
