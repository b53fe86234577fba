lxnet {
  max_deletes = 5
}
