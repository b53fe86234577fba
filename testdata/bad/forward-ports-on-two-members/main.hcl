remote "cluster" {
  lxc_remote = "mycluster"
}

network "web" {
  name   = "lxnbr0"
  config = { "ipv4.address" = "10.231.7.1/24" }
}

node "web1" {
  image  = "busybox"
  target = "m1"
  device "eth0" {
    type       = "nic"
    properties = { network = network.web.name, "ipv4.address" = "10.231.7.11" }
  }
}

node "web2" {
  image  = "busybox"
  target = "m2"
  device "eth0" {
    type       = "nic"
    properties = { network = network.web.name, "ipv4.address" = "10.231.7.12" }
  }
}

# One forward, ports on nodes of two members: it can be on one only.
forward "web" {
  network        = network.web
  listen_address = "198.51.100.10"
  port {
    listen_port = "80"
    target      = node.web1
  }
  port {
    listen_port = "81"
    target      = node.web2
  }
}
