remote "vm2" {
  lxc_remote = "vm2"
  address    = "https://10.0.0.2:8443"
}
