node "web" {
  image       = "busybox"
  description = file("secret.txt")
}

node "api" {
  image       = "busybox"
  description = templatefile("template.tftpl.d/main.hcl", {})
}
