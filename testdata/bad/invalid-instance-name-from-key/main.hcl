node "web" {
  for_each = toset(["a.b", "c"])
  image    = "busybox"
}
