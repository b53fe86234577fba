# Scenario 8: an LXD cluster as one remote; instances placed on members.

remote "cluster" {
  lxc_remote = "mycluster"
  project    = "web"
}

variable "members" {
  type    = list(string)
  default = ["member1", "member2", "member3"]
}

node "worker" {
  count  = length(var.members)
  image  = "images:debian/12"
  target = var.members[count.index]
  state  = count.index == 2 ? "stopped" : "running"
  config = { "user.role" = "worker", "user.meta" = jsonencode({ index = count.index }) }
}
