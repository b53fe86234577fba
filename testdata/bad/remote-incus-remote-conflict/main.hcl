remote "vm2" {
  incus_remote = "vm2"
  client_cert  = "client.crt"
}
