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

forward "a" {
  network        = network.lxnbr0
  listen_address = "198.51.100.10"
  port {
    listen_port    = "8000-8010"
    target_address = "10.231.7.10"
  }
  port {
    listen_port    = "8010"
    protocol       = "tcp"
    target_address = "10.231.7.11"
  }
  port {
    listen_port    = "8010"
    protocol       = "udp"
    target_address = "10.231.7.11"
  }
}
