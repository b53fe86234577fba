remote "vm1" {
  address = "unix://"
}

remote "vm2" {
  address            = "https://10.0.0.2:8443"
  client_cert        = "client.crt"
  client_key         = "client.key"
  server_fingerprint = "sha256:3f0a6c5b1d2e4f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"
}

network "lxnbr0" {
  remote = "vm3"
}
