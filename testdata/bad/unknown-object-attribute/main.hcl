network "lxnbr0" {
  config = { "ipv4.address" = "10.231.7.1/24" }
}

node "web" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lxnbr0.nmae }
  }
}
