network "lxnbr0" {
  type = "bridgee"
}

node "web_1" {
  image = "busybox"
  state = "up"
}
