variable "subnet" {
  type = string
  validation {
    condition     = can(cidrhost(var.subnet, 1))
    error_message = "subnet must be a CIDR block such as \"10.231.7.0/24\"."
  }
}
