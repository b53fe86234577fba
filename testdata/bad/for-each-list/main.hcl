node "web" {
  for_each = ["a", "b"]
  image    = "busybox"
}
