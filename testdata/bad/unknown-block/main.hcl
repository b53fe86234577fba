netwrok "lxnbr0" {
  type = "bridge"
}
