locals {
  subnet = "10.231.7.0/24"
}

locals {
  subnet = "10.231.8.0/24"
}
