# A remote whose address cannot be evaluated (its variable has no value)
# still has a name: the network on it is checked in the same run.
variable "vm2_address" {
  type = string
}

remote "vm2" {
  address = var.vm2_address
}

network "lxnbr0" {
  remote = remote.vm2
  config = { "ipv4.address" = "10.231.7.1/24", "dns.mode" = "manged" }
}
