variable "subnet" {
  type        = string
  description = "The bridge subnet."
}
