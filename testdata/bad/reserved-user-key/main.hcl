node "web" {
  image  = "busybox"
  config = { "user.lxnetd.owner" = "me", "user.note" = "fine" }
}
