service "www" {
  node = node.web2
  port "http" {
    listen = "198.51.100.10"
  }
}
