acl "web" {
  ingress {
    action           = "accept"
    protocol         = "tcp"
    destination_port = "80"
  }
}
