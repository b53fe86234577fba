network "lxnbr0" {}
