variable "nat" {
  type    = bool
  default = true
}

network "lxnbr0" {
  config = { "ipv4.address" = "10.231.7.1/24", "ipv4.nat" = var.nat }
}
