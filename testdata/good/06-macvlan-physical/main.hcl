# Scenario 6: a macvlan NIC per container next to a bridged NIC with a static
# address, MAC filtering and a DNS mode on the bridge.

network "lxnbr60" {
  config = {
    "ipv4.address" = "10.231.60.1/24"
    "dns.mode"     = "managed"
    "dns.domain"   = "lan60"
  }
}

network "lxnmv60" {
  type   = "macvlan"
  config = { parent = "eth1" }
}

node "edge" {
  for_each = { a = 21, b = 22 }
  name     = "edge-${each.key}"
  image    = "busybox"
  device "eth0" {
    type = "nic"
    properties = {
      network                  = network.lxnbr60.name
      "ipv4.address"           = "10.231.60.${each.value}"
      "security.mac_filtering" = true
    }
  }
  device "eth1" {
    type       = "nic"
    properties = { network = network.lxnmv60.name }
  }
}
