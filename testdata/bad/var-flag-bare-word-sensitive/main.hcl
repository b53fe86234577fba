variable "api_port" {
  type      = number
  sensitive = true
}

network "lxnbr0" {
  description = "api on ${var.api_port}"
}
