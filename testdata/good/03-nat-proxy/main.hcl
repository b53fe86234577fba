# Scenario 3: a NAT proxy device (via = "nat"): the kernel forwards the host
# address to the node's static address, so both must be concrete.

network "lxnbr30" {
  config = { "ipv4.address" = "10.231.30.1/24", "ipv4.nat" = "true" }
}

node "db" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lxnbr30.name, "ipv4.address" = "10.231.30.5" }
  }
}

service "postgres" {
  node = node.db
  port "pg" {
    listen = "203.0.113.30:5432"
    via    = "nat"
  }
}
