# A node whose device fails has no known static address, so the service
# and the forward pointing at it cannot be checked against it: each says so
# (a warning) instead of passing in silence, and their own mistakes that do
# not depend on the node are still reported.
network "lxnbr0" {
  config = { "ipv4.address" = "10.231.7.1/24" }
}

node "web" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lxnbr0.name, "ipv4.address" = "10.231.7.300" }
  }
}

service "web" {
  node = node.web
  port "http" {
    listen   = "203.0.113.10:80"
    protocol = "sctp"
  }
}

forward "floating" {
  network        = network.lxnbr0
  listen_address = "198.51.100.10"
  port {
    listen_port = 80
    target      = node.web
  }
  port {
    listen_port    = "70000"
    target_address = "10.231.7.11"
  }
}
