node "web" {
  for_each = toset(["a", "b"])
  count    = 2
  image    = "busybox"
}
