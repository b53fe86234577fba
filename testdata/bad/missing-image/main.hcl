node "web" {
  type = "container"
}
