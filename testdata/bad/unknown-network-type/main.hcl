network "lxnbr0" {
  type = "brige"
}
