node "web" {
  image = "busybox"
}

node "web2" {
  name  = "web"
  image = "busybox"
}
