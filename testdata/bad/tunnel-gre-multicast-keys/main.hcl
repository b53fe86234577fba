network "overlay" {
  name = "lxnov0"
  config = {
    "ipv4.address"       = "10.231.41.1/24"
    "tunnel.t1.protocol" = "gre"
    "tunnel.t1.local"    = "10.231.40.11"
    "tunnel.t1.remote"   = "10.231.40.12"
    "tunnel.t1.group"    = "239.1.2.3"
  }
}
