node "web" {
  image       = "busybox"
  description = file("../../../etc/passwd")
}
