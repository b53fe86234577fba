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

network "lxnbr1" {
  config = { "ipv4.address" = "10.231.8.1/24" }
}

forward "a" {
  network        = network.lxnbr0
  listen_address = "198.51.100.10"
  port {
    listen_port    = 80
    target_address = "10.231.7.10"
  }
}

forward "b" {
  network        = network.lxnbr1
  listen_address = "198.51.100.10"
  port {
    listen_port    = 443
    target_address = "10.231.8.10"
  }
}
