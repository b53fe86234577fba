network "lxnbr0" {
  config = { "ipv4.address" = "10.231.7.1/24" }
}

node "web" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lxnbr0.name, "ipv4.address" = "10.231.7.10" }
  }
}

service "www" {
  node = node.web
  port "http" {
    listen = "198.51.100.7:80,443,8000-8100,8080"
  }
}

forward "extra" {
  network        = network.lxnbr0
  listen_address = "198.51.100.8"
  port {
    listen_port = "22,22"
    target      = node.web
  }
}
