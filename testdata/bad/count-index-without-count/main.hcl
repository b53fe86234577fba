network "lxnbr0" {
  description = "number ${count.index}"
}
