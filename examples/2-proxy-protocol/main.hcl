# Scenario 2: a proxy device that sends the PROXY protocol header, set on a
# profile, so the application in the container learns the client's address.

variable "owner" {
  type    = string
  default = "example-proxy"
}
variable "bridge" {
  type    = string
  default = "lxnpp0"
}
variable "prefix" {
  type    = string
  default = "pp"
}
variable "subnet" {
  type    = string
  default = "10.231.12.0/24"
}
variable "floating_ip" {
  type    = string
  default = "198.51.100.12"
}

lxnet {
  owner = var.owner
}

network "lan" {
  name = var.bridge
  config = {
    "ipv4.address" = "${cidrhost(var.subnet, 1)}/24"
    "ipv6.address" = "none"
  }
}

# Every node with this profile gets the proxy device. The proxy runs in the
# host's network namespace (bind = host) and connects inside the container.
profile "proxied" {
  name = "${var.prefix}-proxied"
  device "http" {
    type = "proxy"
    properties = {
      listen         = "tcp:${var.floating_ip}:80"
      connect        = "tcp:127.0.0.1:80"
      proxy_protocol = true
    }
  }
}

node "web" {
  name     = "${var.prefix}-web"
  image    = "busybox"
  profiles = ["default", profile.proxied.name]
  device "eth0" {
    type = "nic"
    properties = {
      network        = network.lan.name
      name           = "eth0"
      "ipv4.address" = cidrhost(var.subnet, 10)
    }
  }
}

# The same through a service port: a proxy device on the node itself.
service "alt" {
  node = node.web
  port "http" {
    listen         = "${var.floating_ip}:8080"
    target_port    = 80
    via            = "proxy"
    proxy_protocol = true
  }
}
