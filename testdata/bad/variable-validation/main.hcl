variable "subnet" {
  type = string
  validation {
    condition     = startswith(var.subnet, "10.231.")
    error_message = "Bridges must use 10.231.0.0/16."
  }
}
