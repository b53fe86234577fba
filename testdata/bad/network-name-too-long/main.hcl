network "lxnbr_for_the_web_tier" {
  type = "bridge"
}
