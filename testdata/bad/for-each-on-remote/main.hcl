remote "vm" {
  for_each = toset(["a", "b"])
  address  = "unix://"
}
