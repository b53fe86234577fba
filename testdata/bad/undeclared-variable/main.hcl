variable "subnet" {
  default = "10.231.7.0/24"
}

network "lxnbr0" {
  config = { "ipv4.address" = cidrhost(var.subnett, 1) }
}
