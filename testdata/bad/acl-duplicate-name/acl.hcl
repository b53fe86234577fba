acl "web" {
}

acl "web2" {
  name = "web"
}

node "c1" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { nictype = "bridged", parent = "lxdbr0", "security.acls" = "bad name" }
  }
}
