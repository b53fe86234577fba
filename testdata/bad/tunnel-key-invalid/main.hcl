network "overlay" {
  name = "lxnov0"
  config = {
    "ipv4.address"     = "10.231.41.1/24"
    "tunnel.protocol"  = "vxlan"
    "tunnel.t1.proto"  = "vxlan"
    "tunnel.t1.id"     = "9"
  }
}
