node "web" {
  image       = "busybox"
  description = "I am ${node.web.name}"
}
