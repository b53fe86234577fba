network "lxnbr0" {
  config = {
    "ipv4.address" = "10.231.9.1/24"
    ""             = "x"
    "user.a,b"     = "y"
  }
}
