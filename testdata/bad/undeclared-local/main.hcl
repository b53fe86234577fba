network "lxnbr0" {
  config = { "ipv4.address" = local.gateway }
}
