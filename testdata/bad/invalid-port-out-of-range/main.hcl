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

forward "floating" {
  network        = network.lxnbr0
  listen_address = "198.51.100.10"
  port {
    listen_port    = 70000
    target_address = "10.231.7.10"
  }
}
