lxnet {
  resync_interval = "5 minutes"
}
