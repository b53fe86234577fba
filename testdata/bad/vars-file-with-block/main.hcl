variable "subnet" {
  default = "10.231.7.0/24"
}
