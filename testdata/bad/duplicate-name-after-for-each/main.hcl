network "lan" {
  for_each = toset(["a", "b"])
  name     = "lxnlan"
}
