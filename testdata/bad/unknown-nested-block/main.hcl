node "web" {
  image = "busybox"
  devices "eth0" {
    type = "nic"
  }
}
