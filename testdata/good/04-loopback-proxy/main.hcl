# Scenario 4: a service of the container reached from the host's loopback:
# a userspace proxy device, no static address needed.

node "app" {
  image = "busybox"
}

service "app" {
  node = node.app
  port "http" {
    listen      = "127.0.0.1:8080"
    target_port = 80
    via         = "proxy"
  }
}
