owner = "edge-1"

network "lxnbr0" {}
