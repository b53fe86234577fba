node "web" {
  image = "busybox"
}

node "client" {
  image  = "busybox"
  config = { "user.backend" = "http://${node.web.ipv4}:80" }
}
