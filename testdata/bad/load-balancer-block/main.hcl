network "web" {
  name = "lxnweb0"
  config = {
    "ipv4.address" = "10.231.42.1/24"
  }
}

load_balancer "front" {
  network        = network.web.name
  listen_address = "198.51.100.20"
}
