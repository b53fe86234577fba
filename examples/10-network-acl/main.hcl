# Network ACLs: a bridge that drops every incoming connection its ACL does
# not allow. Only HTTP on port 80 reaches the web node; anything else the
# node listens on (8080 here) is dropped on the bridge, by LXD's nftables
# rules, without touching the container.

variable "owner" {
  type    = string
  default = "example-acl"
}
variable "bridge" {
  type    = string
  default = "lxnacl0"
}
variable "prefix" {
  type    = string
  default = "acl"
}
variable "subnet" {
  type    = string
  default = "10.231.60.0/24"
}

lxnet {
  owner = var.owner
}

acl "web" {
  name        = "${var.prefix}-web"
  description = "what may reach the web nodes"

  ingress {
    action           = "allow"
    protocol         = "tcp"
    destination_port = "80"
    description      = "http"
  }
  # more rules
}

network "lan" {
  name = var.bridge
  config = {
    "ipv4.address"  = "${cidrhost(var.subnet, 1)}/24"
    "ipv4.nat"      = false
    "ipv6.address"  = "none"
    "security.acls" = acl.web.name
    # Traffic no rule matches: dropped on the way in, allowed on the way out.
    "security.acls.default.ingress.action" = "drop"
    "security.acls.default.egress.action"  = "allow"
  }
}

node "web" {
  name  = "${var.prefix}-web"
  image = "busybox"
  device "eth0" {
    type = "nic"
    properties = {
      network        = network.lan.name
      "ipv4.address" = cidrhost(var.subnet, 10)
    }
  }
}
