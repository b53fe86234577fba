network "lxnbr0" {
  type = "bridge"

node "web" {
  image = "busybox"
}
