network "lxnovs0" {
  config = {
    "ipv4.address"  = "10.231.78.1/24"
    "bridge.driver" = "ovs"
  }
}
