network "lan" {
  name   = "lxnbr0"
  config = { "ipv4.address" = "10.231.20.1/24" }
}

service "web" {
  node = network.lan
  port "http" {
    listen = "198.51.100.20:80"
  }
}
