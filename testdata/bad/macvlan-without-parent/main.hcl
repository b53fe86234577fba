network "lxnmv0" {
  type = "macvlan"
}
