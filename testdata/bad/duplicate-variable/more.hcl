variable "port" {
  default = 8080
}
