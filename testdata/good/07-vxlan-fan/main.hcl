# Scenario 7: one bridge joined across two hosts with a VXLAN tunnel, and a
# fan network.

locals {
  hosts = {
    vm1 = { address = "https://10.0.0.11:8443", underlay = "10.0.0.11", peer = "10.0.0.12" }
    vm2 = { address = "https://10.0.0.12:8443", underlay = "10.0.0.12", peer = "10.0.0.11" }
  }
}

remote "vm1" {
  address            = local.hosts.vm1.address
  client_cert        = "client.crt"
  client_key         = "client.key"
  server_fingerprint = "sha256:${sha256("vm1")}"
}

remote "vm2" {
  address            = local.hosts.vm2.address
  client_cert        = "client.crt"
  client_key         = "client.key"
  server_fingerprint = "sha256:${sha256("vm2")}"
}

network "overlay" {
  for_each = local.hosts
  name     = "lxnvx70"
  remote   = each.key
  config = merge(
    { "ipv4.address" = "10.231.70.${each.key == "vm1" ? 1 : 2}/24", "ipv6.address" = "none", "bridge.mtu" = 1300 },
    # Only one side of the tunnel hands out addresses.
    { "ipv4.dhcp" = each.key == "vm1" },
    {
      "tunnel.lxn.protocol" = "vxlan"
      "tunnel.lxn.id"       = 70
      "tunnel.lxn.local"    = each.value.underlay
      "tunnel.lxn.remote"   = each.value.peer
    },
  )
}

network "fan" {
  remote = remote.vm1
  name   = "lxnfan71"
  config = { "bridge.mode" = "fan", "fan.underlay_subnet" = "10.0.0.0/16" }
}
