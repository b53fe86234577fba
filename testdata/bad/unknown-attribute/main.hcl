network "lxnbr0" {
  type   = "bridge"
  colour = "blue"
}
