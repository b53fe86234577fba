# client_cert and client_key must name readable files, relative to the
# configuration directory: here one is missing and the other is a
# directory. The blocks on the remote are still checked.
remote "vm2" {
  address            = "https://10.0.0.2:8443"
  client_cert        = "certs/client.crt"
  client_key         = "keys.d"
  server_fingerprint = "sha256:3f0a6c5b1d2e4f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"
}

network "lxnbr0" {
  remote = remote.vm2
  config = { "ipv4.address" = "10.231.7.1/24", "ipv4.nat" = "maybe" }
}
