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
  remote = remote.vm1
}

node "web" {
  remote = remote.vm2
  image  = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = "lxnbr0", "ipv4.address" = "10.231.7.10" }
  }
}

forward "floating" {
  network        = network.lxnbr0
  listen_address = "198.51.100.10"
  port {
    listen_port = 80
    target      = node.web
  }
}
