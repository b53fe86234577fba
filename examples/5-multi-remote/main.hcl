# Scenario 5: several LXD hosts, nodes spread over them by a values list, and
# moving a node from one host to another by changing its `remote`.
#
# Each host gets its own bridge (its own subnet); every node gets a static
# address on the bridge of its host and a floating IP forwarded to it by LXD.
# The values (hosts and nodes) live in hosts.vars.hcl: edit the `remote` of an
# entry of `nodes` and apply, and lxnetd creates the node (and its forward) on
# the new host and deletes it on the old one.

variable "owner" {
  type    = string
  default = "example-multi"
}

variable "delete_instances" {
  description = "Delete a moved node on its old host (false: the plan lists it as orphaned and leaves it running)."
  type        = bool
  default     = true
}

variable "primary" {
  description = "How to reach the first LXD host: unix:// for the local socket, or https:// with a client certificate and the server's fingerprint."
  type = object({
    address            = string
    client_cert        = optional(string)
    client_key         = optional(string)
    server_fingerprint = optional(string)
  })
}

variable "secondary" {
  description = "How to reach the second LXD host (same shape as primary)."
  type = object({
    address            = string
    client_cert        = optional(string)
    client_key         = optional(string)
    server_fingerprint = optional(string)
  })
}

variable "lans" {
  description = "The bridge of each host, by remote name: its LXD name and its /24."
  type        = map(object({ bridge = string, subnet = string }))
}

variable "nodes" {
  description = "The web nodes: one per entry, on the host named by remote, with a host number in that host's subnet and a floating IP."
  type = list(object({
    name        = string
    remote      = string
    host        = number
    floating_ip = string
  }))
}

lxnet {
  owner            = var.owner
  delete_instances = var.delete_instances
}

remote "primary" {
  address            = var.primary.address
  client_cert        = var.primary.client_cert
  client_key         = var.primary.client_key
  server_fingerprint = var.primary.server_fingerprint
}

remote "secondary" {
  address            = var.secondary.address
  client_cert        = var.secondary.client_cert
  client_key         = var.secondary.client_key
  server_fingerprint = var.secondary.server_fingerprint
}

# One bridge per host.
network "lan" {
  for_each = var.lans
  remote   = each.key
  name     = each.value.bridge
  type     = "bridge"
  config = {
    "ipv4.address" = "${cidrhost(each.value.subnet, 1)}/24"
    "ipv4.nat"     = true
    "ipv6.address" = "none"
  }
}

# One node per entry of the values list, on the host the entry names.
node "web" {
  for_each = { for n in var.nodes : n.name => n }
  name     = each.key
  remote   = each.value.remote
  image    = "busybox"
  device "eth0" {
    type = "nic"
    properties = {
      network        = network.lan[each.value.remote].name
      name           = "eth0"
      "ipv4.address" = cidrhost(var.lans[each.value.remote].subnet, each.value.host)
    }
  }
}

# Each node's port 80 on its floating IP, through a network forward on the
# node's bridge: it follows the node when the node moves.
service "web" {
  for_each = { for n in var.nodes : n.name => n }
  name     = each.key
  node     = node.web[each.key]
  port "http" {
    listen = "${each.value.floating_ip}:80"
    via    = "forward"
  }
}
