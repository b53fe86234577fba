# Scenario 5: several LXD hosts over HTTPS, nodes spread by a values list.
# Moving a node to another host is a change of its remote in nodes.vars.hcl.

variable "fingerprints" {
  type = map(string)
}

remote "vm1" {
  address            = "https://10.0.0.11:8443"
  client_cert        = "client.crt"
  client_key         = "client.key"
  server_fingerprint = var.fingerprints["vm1"]
}

remote "vm2" {
  address            = "https://10.0.0.12"
  client_cert        = "client.crt"
  client_key         = "client.key"
  server_fingerprint = var.fingerprints["vm2"]
}
