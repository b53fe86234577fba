network "lxnbr0" {
  config = { "ipv4.address" = "10.231.7.0/24", "ipv4.nat" = true }
}
