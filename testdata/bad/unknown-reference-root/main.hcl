network "lxnbr0" {
  config = { "ipv4.address" = settings.gateway }
}
