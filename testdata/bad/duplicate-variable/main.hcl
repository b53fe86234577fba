variable "port" {
  default = 80
}
