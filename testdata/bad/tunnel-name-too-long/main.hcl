network "backbone" {
  name = "lxn-backbone"
  config = {
    "ipv4.address"         = "10.231.40.1/24"
    "tunnel.dc2.protocol"  = "vxlan"
    "tunnel.dc2.id"        = "7"
    "tunnel.ab.protocol"   = "vxlan" # lxn-backbone-ab: 15, fits
  }
}
