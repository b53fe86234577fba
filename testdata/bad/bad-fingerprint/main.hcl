remote "vm2" {
  address            = "https://10.0.0.2:8443"
  client_cert        = "client.crt"
  client_key         = "client.key"
  server_fingerprint = "3f0a6c5b1d2e"
}
