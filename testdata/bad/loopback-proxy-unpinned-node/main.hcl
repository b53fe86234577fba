remote "cluster" {
  lxc_remote = "mycluster"
}

network "web" {
  name   = "lxnbr0"
  config = { "ipv4.address" = "10.231.7.1/24" }
}

node "web1" {
  image  = "busybox"
  target = "m1"
  device "eth0" {
    type       = "nic"
    properties = { network = network.web.name, "ipv4.address" = "10.231.7.11" }
  }
}

node "web2" {
  image  = "busybox"
  target = "m2"
  device "eth0" {
    type       = "nic"
    properties = { network = network.web.name, "ipv4.address" = "10.231.7.12" }
  }
}

node "free" {
  image = "busybox"
}

# web1 is on m1; free goes wherever LXD puts it, maybe m1 too: the same
# loopback address and port clash (nodes on members known to differ would
# not).
service "admin" {
  nodes = [node.web1, node.free, node.web2]
  port "ui" {
    listen      = "127.0.0.1:8080"
    target_port = 80
    via         = "proxy"
  }
}
