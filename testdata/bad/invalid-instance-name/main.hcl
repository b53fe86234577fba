node "web_1" {
  image = "busybox"
}
