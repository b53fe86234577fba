variable "nginx_nodes" {
  type = list(object({
    name   = string
    remote = string
    ip     = string
    public = string
  }))
  validation {
    condition     = length(var.nginx_nodes) > 0
    error_message = "Declare at least one nginx node."
  }
}

locals {
  remotes = toset([for n in var.nginx_nodes : n.remote])
}

network "mottainai" {
  for_each = local.remotes
  name     = "lxnmott0"
  remote   = each.key
  config   = { "ipv4.address" = "10.231.50.1/24", "dns.domain" = "mottainai.local" }
}

node "nginx" {
  for_each = { for n in var.nginx_nodes : n.name => n }
  name     = each.key
  remote   = each.value.remote
  image    = "ubuntu/22.04"
  config   = { "security.nesting" = true, "limits.memory" = "512MB" }
  device "eth0" {
    type       = "nic"
    properties = { network = network.mottainai[each.value.remote].name, "ipv4.address" = each.value.ip }
  }
}

# One service per node: each gets its own public address on its host.
service "web" {
  for_each = { for n in var.nginx_nodes : n.name => n }
  node     = node.nginx[each.key]
  port "http" {
    listen      = "${each.value.public}:80"
    target_port = 8090
  }
}
