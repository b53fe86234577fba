acl "web" {
  config = { "ingress.action" = "allow" }
}
