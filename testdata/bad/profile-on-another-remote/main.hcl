remote "vm1" {
  address = "unix://"
}

remote "vm2" {
  lxc_remote = "vm2"
}

profile "web" {
  for_each = toset(["vm1"])
  remote   = each.key
  name     = "web"
  config   = { "limits.cpu" = 2 }
}

node "web" {
  remote   = "vm2"
  image    = "busybox"
  profiles = ["default", profile.web["vm1"].name]
}
