network "br-web" {
  remote      = remote.vm1
  adopt       = true
  description = "web LAN"
  type        = "bridge"
  config = {
    "ipv4.address" = "10.231.5.1/24"
    "ipv4.nat"     = "true"
    "ipv6.address" = "none"
  }
}

profile "web_tier" {
  name   = "web.tier"
  remote = remote.vm1
  adopt  = true
  config = {
    "limits.memory" = "256MB"
    "user.note"     = "$${not a template}"
  }

  device "eth1" {
    type = "nic"
    properties = {
      name    = "eth1"
      network = network.br-web.name
    }
  }

  device "https" {
    type = "proxy"
    properties = {
      connect        = "tcp:127.0.0.1:443"
      listen         = "tcp:0.0.0.0:8443"
      proxy_protocol = "true"
    }
  }
}

node "_9db" {
  name   = "9db"
  remote = remote.vm1
  adopt  = true
  image  = "def456"
  type   = "virtual-machine"
  state  = "stopped"
}

node "web1" {
  remote   = remote.vm1
  adopt    = true
  image    = "abc123"
  profiles = ["default", profile.web_tier.name]
  config = {
    "security.nesting" = "true"
  }

  device "eth0" {
    type = "nic"
    properties = {
      "ipv4.address" = "10.231.5.10"
      name           = "eth0"
      network        = network.br-web.name
    }
  }
}

forward "br-web-198_51_100_7" {
  network        = network.br-web
  adopt          = true
  description    = "public"
  listen_address = "198.51.100.7"
  target_address = "10.231.5.99"

  port {
    listen_port = "80"
    target      = node.web1
  }

  port {
    protocol       = "udp"
    listen_port    = "5353"
    target_address = "10.231.5.11"
    target_port    = "53"
    description    = "dns"
  }
}
