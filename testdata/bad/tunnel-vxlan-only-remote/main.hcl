network "overlay" {
  name = "lxnov0"
  config = {
    "ipv4.address"       = "10.231.41.1/24"
    "tunnel.t1.protocol" = "vxlan"
    "tunnel.t1.id"       = "9"
    "tunnel.t1.remote"   = "10.231.40.12"
  }
}
