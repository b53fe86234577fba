node "web" {
  image = "busybox"
  state = "paused"
}
