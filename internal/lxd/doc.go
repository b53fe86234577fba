// Package lxd adapts the engine's Remote interface to github.com/canonical/lxd/client.
// It is the only package that imports the LXD client.
package lxd

import (
	lxdclient "github.com/canonical/lxd/client"
)

var _ lxdclient.InstanceServer = nil
