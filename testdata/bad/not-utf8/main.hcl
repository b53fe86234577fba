network "lxnbr0" {
  description = "café"
}
