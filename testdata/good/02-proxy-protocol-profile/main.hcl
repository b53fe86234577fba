# Scenario 2: a proxy device that sends the PROXY protocol header, set on a
# profile so every instance using it gets it; plus a service exposed the same way.

profile "proxy-https" {
  description = "HTTPS through the host, with PROXY protocol"
  device "https" {
    type = "proxy"
    properties = {
      listen         = "tcp:0.0.0.0:443"
      connect        = "tcp:127.0.0.1:443"
      proxy_protocol = true
    }
  }
}

node "haproxy" {
  image    = "busybox"
  profiles = ["default", profile.proxy-https.name]
  config = {
    "user.user-data" = templatefile("cloud-init.tftpl", { name = "haproxy", ports = [443, 8443] })
  }
}

service "admin" {
  node = node.haproxy
  port "https" {
    listen         = "0.0.0.0:8443"
    via            = "proxy"
    proxy_protocol = true
  }
}
