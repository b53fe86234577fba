network "lxnbr0" {
  description = each.key
}
