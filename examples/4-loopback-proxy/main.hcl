# Scenario 4: a service that listens only on 127.0.0.1 inside its container,
# reached from the host through a proxy device. The node has no NIC at all:
# the proxy connects inside the container's network namespace.

variable "owner" {
  type    = string
  default = "example-loopback"
}
variable "prefix" {
  type    = string
  default = "lo"
}
variable "floating_ip" {
  type    = string
  default = "198.51.100.14"
}

lxnet {
  owner = var.owner
}

node "app" {
  name  = "${var.prefix}-app"
  image = "busybox"
}

service "admin" {
  node = node.app
  port "ui" {
    listen      = "${var.floating_ip}:80"
    target_port = 8080 # the application's loopback-only port
    via         = "proxy"
  }
}
