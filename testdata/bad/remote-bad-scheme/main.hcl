remote "vm2" {
  address = "tcp://10.0.0.2:8443"
}
