remote "vm1" {
  address = "unix://var/lib/lxd/unix.socket"
}
