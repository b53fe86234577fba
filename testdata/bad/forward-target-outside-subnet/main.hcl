# A forward reaches only addresses of its own network: LXD refuses targets
# outside the network's subnet (the default target_address too).
network "lxnbr0" {
  config = { "ipv4.address" = "10.231.7.1/24" }
}

forward "floating" {
  network        = network.lxnbr0
  listen_address = "198.51.100.10"
  target_address = "10.231.9.5"
  port {
    listen_port    = 80
    target_address = "10.231.8.10"
  }
  port {
    listen_port    = 443
    target_address = "10.231.7.11"
  }
}
