lxnet {
  max_deletes = "a few"
}
