network "lan" {
  name   = "lxnbr0"
  config = { "ipv4.address" = "10.231.20.1/24" }
}

node "web" {
  count = 3
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lan.name, "ipv4.address" = "10.231.20.${11 + count.index}" }
  }
}

# Three nodes share one listen address: one clash, reported once (not once
# per pair of nodes).
service "web" {
  nodes = node.web
  port "http" {
    listen = "198.51.100.20:80"
  }
}

# Three blocks on one port: also one report, naming all three.
service "a" {
  node = node.web[0]
  port "p" {
    listen = "0.0.0.0:9000"
    via    = "proxy"
  }
}

service "b" {
  node = node.web[1]
  port "p" {
    listen = "127.0.0.1:9000"
    via    = "proxy"
  }
}

service "c" {
  node = node.web[2]
  port "p" {
    listen = "10.231.20.1:9000"
    via    = "proxy"
  }
}
