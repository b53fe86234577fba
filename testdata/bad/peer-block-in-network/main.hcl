network "web" {
  name = "lxnweb0"
  type = "ovn"
  config = {
    network = "lxnup0"
  }

  peer "to-db" {
    target_network = "lxndb0"
  }
}
