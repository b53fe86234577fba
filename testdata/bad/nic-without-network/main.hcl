node "web" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { "ipv4.address" = "10.231.7.10" }
  }
}
