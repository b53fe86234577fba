# A forward's listen address must not belong to another managed network's
# subnet: LXD refuses it. The same holds for a service with via = "forward",
# which creates a forward on its node's network.
network "lxnbr0" {
  config = { "ipv4.address" = "10.231.7.1/24" }
}

network "lxnbr1" {
  config = { "ipv4.address" = "10.231.8.1/24" }
}

node "web" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lxnbr0.name, "ipv4.address" = "10.231.7.10" }
  }
}

forward "inside" {
  network        = network.lxnbr0
  listen_address = "10.231.8.50"
  port {
    listen_port = 80
    target      = node.web
  }
}

service "web" {
  node = node.web
  port "https" {
    listen = "10.231.8.51:443"
  }
}
