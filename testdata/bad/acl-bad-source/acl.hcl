acl "web" {
  ingress {
    action   = "allow"
    source   = "10.0.0.0/33, 10.1.0.9-10.1.0.1"
    protocol = "icmp4"
    icmp_type = "300"
  }
}
