network "lxnbr0" {
  description = "next to ${network.lxnbr1.name}"
}
