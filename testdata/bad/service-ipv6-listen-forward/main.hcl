# A forward or NAT rule targets the node's static IPv4 address; LXD refuses
# one that listens on IPv6. via = "proxy" may listen on IPv6.
network "lxnbr0" {
  config = { "ipv4.address" = "10.231.7.1/24" }
}

node "web" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lxnbr0.name, "ipv4.address" = "10.231.7.10" }
  }
}

service "web" {
  node = node.web
  port "http" {
    listen = "[2001:db8::10]:80"
  }
  port "https" {
    listen = "[2001:db8::10]:443"
    via    = "nat"
  }
  port "alt" {
    listen = "[2001:db8::10]:8080"
    via    = "proxy"
  }
}
