network "lxnbr0" {
  config = { "ipv4.address" = "10.231.7.1/24" }
}

node "web" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lxnbr0.name, "ipv4.address" = "10.231.7.10" }
  }
}

service "www" {
  node = node.web
  port "https" {
    listen         = "198.51.100.10:443"
    via            = "nat"
    proxy_protocol = true
  }
}
