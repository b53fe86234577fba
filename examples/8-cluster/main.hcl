# Scenario 8: an LXD cluster as one remote, with nodes placed on members.
#
# One remote block stands for the whole cluster (any member's address; all
# members present the cluster certificate, so one pin fits all). The bridge
# is created cluster-wide — lxnetd defines it on every member, then creates
# it — but each member's bridge is its own L2 island: LXD does not join
# them. So each node is reached through its own member: a proxy device
# listens on that member's address and connects to the node's port 80; a
# network forward is on one member, the one its target node runs on; and
# each member has its own loopback address.

variable "owner" {
  type    = string
  default = "example-cluster"
}
variable "prefix" {
  type    = string
  default = "cl"
}
variable "bridge" {
  type    = string
  default = "lxncl0"
}
variable "subnet" {
  type    = string
  default = "10.231.18.0/24"
}
variable "address" {
  type    = string
  default = "https://10.231.19.11:8443"
}
variable "fingerprint" {
  type    = string
  default = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
}
# A floating IP routed to the member of node.web[1] (m2 by default).
variable "floating_ip" {
  type    = string
  default = "198.51.100.80"
}
variable "client_cert" {
  type    = string
  default = "certs/client.crt"
}
variable "client_key" {
  type    = string
  default = "certs/client.key"
}
# One node per entry, on that member, reached on the member's own address.
variable "members" {
  type = list(object({ name = string, address = string }))
  default = [
    { name = "m1", address = "10.231.19.11" },
    { name = "m2", address = "10.231.19.12" },
    { name = "m3", address = "10.231.19.13" },
  ]
}

lxnet {
  owner = var.owner
  # A node dropped from this file is deleted, and a node whose target
  # changes is recreated on the new member (lxnetd does not move instances).
  delete_instances = true
}

remote "cluster" {
  address            = var.address
  client_cert        = var.client_cert
  client_key         = var.client_key
  server_fingerprint = var.fingerprint
}

network "web" {
  name = var.bridge
  config = {
    "ipv4.address" = "${cidrhost(var.subnet, 1)}/24"
    "ipv4.nat"     = true
    "ipv6.address" = "none"
  }
}

node "web" {
  count  = length(var.members)
  name   = "${var.prefix}-web${count.index + 1}"
  image  = "busybox"
  target = var.members[count.index].name
  device "eth0" {
    type = "nic"
    properties = {
      network        = network.web.name
      name           = "eth0"
      "ipv4.address" = cidrhost(var.subnet, 11 + count.index)
    }
  }
}

service "web" {
  count = length(var.members)
  node  = node.web[count.index]
  port "http" {
    listen      = "${var.members[count.index].address}:${8080 + count.index}"
    target_port = 80
    via         = "proxy"
  }
}

# A forward on the cluster bridge goes on one member: here the member of
# the node its port points at (node.web[1] has target = m2, so the forward
# is created on m2; `target = "m2"` on the forward would say so too). It
# follows the node when the node's target changes.
forward "web2" {
  network        = network.web
  listen_address = var.floating_ip
  description    = "web2's page on the floating IP"
  port {
    listen_port = "80"
    target      = node.web[1]
  }
}

# The same loopback address and port on two nodes: no clash, because the
# nodes are placed on different members (target), and each member has its
# own loopback. (Two nodes on one member, or a node without target, would
# be "Port exposed twice".)
service "local" {
  nodes = [node.web[0], node.web[1]]
  port "http" {
    listen      = "127.0.0.1:8088"
    target_port = 80
    via         = "proxy"
  }
}
