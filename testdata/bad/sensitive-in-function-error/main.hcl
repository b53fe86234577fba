variable "token" {
  type      = string
  sensitive = true
}

network "lxnbr0" {
  config = { "ipv4.address" = "${cidrhost(var.token, 1)}/24" }
}
