network "lxnbr0" {
  config = { "ipv4.address" = "10.231.7.1/24" }
}
