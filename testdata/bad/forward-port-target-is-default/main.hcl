# The default target_address receives every port no port block names; LXD
# refuses a port whose target is the default target.
network "lxnbr0" {
  config = { "ipv4.address" = "10.231.7.1/24" }
}

forward "floating" {
  network        = network.lxnbr0
  listen_address = "198.51.100.10"
  target_address = "10.231.7.10"
  port {
    listen_port    = 80
    target_address = "10.231.7.10"
    target_port    = 8080
  }
}
