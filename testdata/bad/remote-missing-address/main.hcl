remote "vm1" {
  project = "default"
}
