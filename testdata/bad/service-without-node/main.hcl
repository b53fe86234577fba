service "www" {
  port "http" {
    listen = "198.51.100.10:80"
  }
}
