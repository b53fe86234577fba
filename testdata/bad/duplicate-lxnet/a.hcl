lxnet {
  owner = "edge-1"
}
