variable "secret" {
  type      = string
  sensitive = true
}

network "lan" {
  name   = "br-${var.secret}"
  config = { "ipv4.address" = "10.231.6.1/24" }
}

node "web" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lan.name, "ipv4.address" = "10.231.6.10" }
  }
}

service "web" {
  node = node.web
  port "http" {
    listen = "${var.secret}:80"
  }
}

forward "f" {
  network        = network.lan
  listen_address = var.secret
}
