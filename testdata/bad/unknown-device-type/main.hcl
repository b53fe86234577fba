profile "extra" {
  device "data" {
    type = "volume"
  }
}
