network "lxnbr1" {
  description = "next to ${network.lxnbr0.name}"
}
