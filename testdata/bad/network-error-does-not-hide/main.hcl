# A network whose config cannot be evaluated (its variable has no value)
# still has a name: the forward and the node on it are checked in the same
# run, each with its own mistake.
variable "gateway" {
  type = string
}

network "lxnbr0" {
  config = { "ipv4.address" = var.gateway }
}

node "web" {
  image = "busybox"
  state = "paused"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lxnbr0.name, "ipv4.address" = "10.231.7.10" }
  }
}

forward "floating" {
  network        = network.lxnbr0
  listen_address = "0.0.0.0"
  port {
    listen_port = 80
    target      = node.web
  }
}
