network "lan" {
  name   = "lxnbr0"
  config = { "ipv4.address" = "10.231.20.1/24" }
}

node "web" {
  count = 2
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lan.name, "ipv4.address" = "10.231.20.${11 + count.index}" }
  }
}

# A count node block is a list: the hint must not suggest
# for_each = node.web (for_each takes a map or a set of strings).
service "web" {
  nodes = node.web
  port "http" {
    listen = "198.51.100.20:80"
  }
}
