acl "web" {
  ingress {
    action           = "allow"
    protocol         = "tpc"
    destination_port = "80"
  }
}
