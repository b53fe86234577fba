network "lxnbr0" {
  type = "bridge"
}
