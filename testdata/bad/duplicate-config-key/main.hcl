network "lan" {
  name = "lxnbr0"
  config = {
    "ipv4.address" = "10.231.20.1/24"
    "ipv4.nat"     = true
    "ipv4.address" = "10.231.21.1/24"
  }
}
