# An error in a block does not hide the errors of the blocks that refer to
# it: the network, the node on it and the service of the node each have
# their own mistake, and all three are reported.
network "lxnbr0" {
  config = { "ipv4.address" = "10.231.7.1/24", "dns.mode" = "manged" }
}

node "web" {
  image = "busybox"
  state = "runing"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lxnbr0.name, "ipv4.address" = "10.231.7.10" }
  }
}

service "web" {
  node = node.web
  port "http" {
    listen = "203.0.113.10:80"
    via    = "nta"
  }
}
