profile "lxnweb" {
  dynamic "device" {
    for_each = { data = "/srv/data" }
    content {
      type       = "disk"
      properties = { source = device.value, path = "/mnt" }
    }
  }
}
