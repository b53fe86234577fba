remote "vm2" {
  address            = "https://10.0.0.2:8443"
  client_cert        = "client.crt"
  client_key         = "others.key"
  server_fingerprint = "sha256:abababababababababababababababababababababababababababababababab"
}
