# The values of scenario 5: which hosts exist and which node runs where.
# Move a node by changing its remote, then `lxnetd plan` and `lxnetd apply`.
# (Placeholders: the addresses, certificates and fingerprint must be yours.)

primary = {
  address = "unix://"
}

secondary = {
  address            = "https://lxd2.example.net:8443"
  client_cert        = "certs/client.crt"
  client_key         = "certs/client.key"
  server_fingerprint = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
}

lans = {
  primary   = { bridge = "lxnmr0", subnet = "10.231.21.0/24" }
  secondary = { bridge = "lxnmr1", subnet = "10.231.22.0/24" }
}

nodes = [
  { name = "mr-web1", remote = "primary", host = 10, floating_ip = "203.0.113.51" },
  { name = "mr-web2", remote = "secondary", host = 10, floating_ip = "203.0.113.52" },
  { name = "mr-web3", remote = "secondary", host = 11, floating_ip = "203.0.113.53" },
]
