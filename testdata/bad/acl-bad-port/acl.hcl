acl "web" {
  ingress {
    action           = "allow"
    protocol         = "udp"
    destination_port = "70000"
  }
}
