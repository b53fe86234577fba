# lxnetd configuration: every *.hcl file in /etc/lxnet.d forms one
# configuration, read in lexical order. The language is described in
# lxnetd.hcl(5), the commands in lxnetd(1); /usr/share/doc/lxnetd/examples
# holds one directory per scenario (floating IP, NAT, several hosts, ...).
#
# With no remote block, lxnetd manages the local LXD over its default unix
# socket. This file declares nothing, so the daemon starts, connects and
# changes nothing. lxnetd only ever touches objects it created (tagged
# user.lxnetd.owner) and refuses to delete everything it owns because a
# directory became empty.
#
# Check a change with `lxnetd validate` and `lxnetd plan` before the daemon
# picks it up (it watches this directory), or run `systemctl reload lxnetd`.

lxnet {
  owner           = "lxnetd"
  resync_interval = "5m"
  max_deletes     = 10
}

# remote "vm1" {
#   address            = "https://vm1.example:8443"
#   client_cert        = "/etc/lxnetd/client.crt"
#   client_key         = "/etc/lxnetd/client.key"
#   server_fingerprint = "sha256:..."
# }
#
# network "lxnbr0" {
#   type   = "bridge"
#   config = { "ipv4.address" = "10.231.10.1/24", "ipv4.nat" = true }
# }
#
# forward "floating" {
#   network        = network.lxnbr0
#   listen_address = "198.51.100.10"
#   port { protocol = "tcp", listen_port = "80", target_address = "10.231.10.2" }
# }
