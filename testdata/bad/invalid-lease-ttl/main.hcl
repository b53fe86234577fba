lxnet {
  owner     = "edge"
  lease_ttl = "2s"
}
