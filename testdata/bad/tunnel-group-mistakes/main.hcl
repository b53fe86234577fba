network "overlay" {
  name = "lxnov0"
  config = {
    "ipv4.address"          = "10.231.41.1/24"
    # A unicast address where a multicast group belongs.
    "tunnel.mc.protocol"    = "vxlan"
    "tunnel.mc.group"       = "10.231.40.255"
    "tunnel.mc.interface"   = "eth0"
    # Unicast and multicast keys at once: LXD builds the unicast tunnel.
    "tunnel.uc.protocol"    = "vxlan"
    "tunnel.uc.local"       = "10.231.40.11"
    "tunnel.uc.remote"      = "10.231.40.12"
    "tunnel.uc.group"       = "239.1.2.3"
  }
}
