remote "vm2" {
  lxc_remote   = "vm2"
  incus_remote = "vm2"
}
