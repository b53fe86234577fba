acl "web" {
  egress {
    action           = "drop"
    destination_port = "53"
  }
}
