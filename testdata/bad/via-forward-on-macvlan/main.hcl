network "lxnmv0" {
  type   = "macvlan"
  config = { parent = "eth1" }
}

node "web" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lxnmv0.name, "ipv4.address" = "10.231.7.10" }
  }
}

service "www" {
  node = node.web
  port "http" {
    listen = "198.51.100.10:80"
  }
}
