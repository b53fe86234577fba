remote "vm1" {
  address = "unix://"
}

remote "vm2" {
  address            = "https://10.0.0.2:8443"
  client_cert        = "client.crt"
  client_key         = "client.key"
  server_fingerprint = "sha256:3f0a6c5b1d2e4f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"
}

network "lan" {
  remote = remote.vm1
  name   = "lxnlan0"
  config = { "ipv4.address" = "10.231.7.1/24" }
}

# The node was moved to vm2, but the network exists only on vm1.
node "web" {
  remote = remote.vm2
  image  = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lan.name, "ipv4.address" = "10.231.7.10" }
  }
}
