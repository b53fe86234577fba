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

# Written the way an LXD proxy device spells it.
service "dns" {
  node = node.web
  port "dns" {
    listen = "udp:198.51.100.7:53"
    via    = "proxy"
  }
}
