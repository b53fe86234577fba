profile "proxy-https" {
  device "https" {
    type       = "proxy"
    properties = { listen = "0.0.0.0:443", connect = "tcp:127.0.0.1:443", proxy_protocol = true }
  }
}
