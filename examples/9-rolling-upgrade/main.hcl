# Scenario 9: a rolling upgrade, one group of web nodes at a time.
#
# The nodes come from one values map; each belongs to a group, and each
# group runs the image image_by_group names. Every node is reached through
# its group's floating IP (one LXD network forward per group), on a port of
# its own. To upgrade a group, point its entry of image_by_group at the new
# image: the plan replaces exactly that group's nodes (-/+, "# forces
# replacement" on image), and the apply runs only when delete_instances is
# true or the nodes are named with --replace. See README.md.

variable "owner" {
  type    = string
  default = "example-rolling"
}
variable "bridge" {
  type    = string
  default = "lxnru0"
}
variable "prefix" {
  type    = string
  default = "ru"
}
variable "subnet" {
  type    = string
  default = "10.231.19.0/24"
}
variable "delete_instances" {
  type    = bool
  default = false
}

# The floating IP each group is reached on.
variable "floating_ip_by_group" {
  type = map(string)
  default = {
    a = "198.51.100.91"
    b = "198.51.100.92"
  }
}

# The image each group runs: change one entry at a time.
variable "image_by_group" {
  type = map(string)
  default = {
    a = "busybox"
    b = "busybox"
  }
}

# The nodes: group, and host number in the subnet (also the last digits of
# the node's ports on its group's floating IP: 8000 + host and 9000 + host).
variable "nodes" {
  type = map(object({ group = string, host = number }))
  default = {
    a1 = { group = "a", host = 11 }
    a2 = { group = "a", host = 12 }
    b1 = { group = "b", host = 21 }
    b2 = { group = "b", host = 22 }
  }
}

lxnet {
  owner            = var.owner
  delete_instances = var.delete_instances
}

network "lan" {
  name = var.bridge
  config = {
    "ipv4.address" = "${cidrhost(var.subnet, 1)}/24"
    "ipv4.nat"     = "true"
    "ipv6.address" = "none"
  }
}

node "web" {
  for_each = var.nodes
  name     = "${var.prefix}-${each.key}"
  image    = var.image_by_group[each.value.group]
  device "eth0" {
    type = "nic"
    properties = {
      network        = network.lan.name
      name           = "eth0"
      "ipv4.address" = cidrhost(var.subnet, each.value.host)
    }
  }
}

# Two ports per node on its group's floating IP. "http" goes through LXD's
# network forward (the ports of one group form one forward): a replaced node
# keeps its static address, so the port leads to the new instance without
# any change to the forward. "proxied" is a proxy device on the node itself,
# so the replaced node is created with it.
service "web" {
  for_each = var.nodes
  node     = node.web[each.key]
  port "http" {
    listen      = "${var.floating_ip_by_group[each.value.group]}:${8000 + each.value.host}"
    target_port = 80
    via         = "forward"
  }
  port "proxied" {
    listen      = "${var.floating_ip_by_group[each.value.group]}:${9000 + each.value.host}"
    target_port = 80
    via         = "proxy"
  }
}
