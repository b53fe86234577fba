forward "f" {
  network = { name = "lxnbr0", remote = null }
  listen_address = "198.51.100.1"
  port {
    listen_port = 80
    target = { name = 1, remote = 2, ipv4 = 3 }
  }
}
service "s" {
  node = { name = 1, remote = 2, ipv4 = 3 }
  port "p" { listen = "198.51.100.1:81" }
}
