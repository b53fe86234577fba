profile "proxy-https" {
  device "https" {
    type       = "proxy"
    properties = { listen = "tcp:198.51.100.10:443", connect = "tcp:10.231.7.10:443", nat = true, proxy_protocol = true }
  }
}
