# A forward listening on IPv4 needs a network with an IPv4 subnet: LXD
# refuses it on a network with ipv4.address = "none" (a service with
# via = "forward" creates such a forward too).
network "lxnbr0" {
  config = { "ipv4.address" = "none", "ipv6.address" = "fd42:7::1/64" }
}

forward "floating" {
  network        = network.lxnbr0
  listen_address = "198.51.100.10"
  port {
    listen_port    = 80
    target_address = "10.231.7.10"
  }
}
