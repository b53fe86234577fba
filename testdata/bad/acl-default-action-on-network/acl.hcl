acl "web" {
  ingress {
    action = "allow"
    state  = "on"
  }
}

network "lxnacl0" {
  config = {
    "ipv4.address"                         = "10.231.77.1/24"
    "security.acls"                        = acl.web.name
    "security.acls.default.ingress.action" = "deny"
  }
}
