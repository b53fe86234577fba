node "web" {
  image = "busybox"
  type  = "vm"
}
