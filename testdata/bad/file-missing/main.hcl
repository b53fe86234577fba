node "web" {
  image  = "busybox"
  config = { "cloud-init.user-data" = templatefile("cloud-init.yaml", { name = "web" }) }
}
