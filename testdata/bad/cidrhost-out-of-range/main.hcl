network "lxnbr0" {
  config = { "ipv4.address" = "${cidrhost("10.231.7.0/24", 300)}/24" }
}
