variable "secret_addr" {
  type      = string
  sensitive = true
  validation {
    condition     = length(var.secret_addr) < 8
    error_message = "The address is too long."
  }
}

network "lxnbr0" {
  config = { "ipv4.address" = var.secret_addr }
}
