# Scenario 8: an LXD cluster as one remote, with nodes placed on members.
#
# One remote block stands for the whole cluster (any member's address; all
# members present the cluster certificate, so one pin fits all). The bridge
# is created cluster-wide — lxnetd defines it on every member, then creates
# it — but each member's bridge is its own L2 island: LXD does not join
# them. So each node is reached through its own member: a proxy device
# listens on that member's address and connects to the node's port 80.

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
    type       = "nic"
    properties = { network = network.web.name, name = "eth0" }
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
