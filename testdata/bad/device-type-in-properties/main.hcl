node "web" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { type = "nic", network = "lxdbr0" }
  }
}
