package lxd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lxnetd/lxnetd/engine"
)

// An Open vSwitch bridge (bridge.driver = "openvswitch") needs, on the LXD
// host, ovs-vsctl in LXD's PATH, a running OVS (ovsdb-server and
// ovs-vswitchd) and a datapath for the bridge: the kernel's openvswitch
// module, or OVS's userspace datapath. LXD 5.0.2 reports each missing piece
// in words about its own steps, not about what is missing:
//
//	Open vSwitch isn't installed on this system
//	Failed to run: ovs-vsctl add-br NAME: exit status 1 (ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed (No such file or directory))
//	open /proc/sys/net/ipv6/conf/NAME/disable_ipv6: no such file or directory
//
// The last is the missing datapath: ovs-vsctl add-br succeeds, ovs-vswitchd
// logs "failed to open datapath NAME" and never creates the interface, and
// LXD stumbles on its absence in whatever step comes first. ovsProblem
// recognises the three and adds what is missing and what to do.

// OVS problems, as ovsProblem classifies LXD's error.
const (
	ovsNotInstalled = iota + 1
	ovsNotRunning
	ovsNoDatapath
)

// ovsProblem classifies err, LXD's answer to creating or updating network
// name with bridge.driver=openvswitch; 0 when it is none of the three.
func ovsProblem(err error, name string) int {
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "open vswitch isn't installed"),
		strings.Contains(msg, `"ovs-vsctl": executable file not found`):
		return ovsNotInstalled
	case strings.Contains(msg, "ovs-vsctl") && (strings.Contains(msg, "database connection failed") || strings.Contains(msg, "db.sock")):
		return ovsNotRunning
	case strings.Contains(msg, "failed to open datapath"):
		return ovsNoDatapath
	}
	// The bridge's interface is missing after OVS accepted it.
	n := strings.ToLower(name)
	for _, gone := range []string{"/" + n + "/", `"` + n + `"`, " " + n + ":", "dev " + n} {
		if strings.Contains(msg, gone) {
			for _, missing := range []string{"no such file or directory", "no such device", "does not exist", "cannot find device", "not found"} {
				if strings.Contains(msg, missing) {
					return ovsNoDatapath
				}
			}
		}
	}
	return 0
}

// ovsHints says, per problem, what is missing and what to do.
var ovsHints = map[int]string{
	ovsNotInstalled: "Open vSwitch is not installed on the LXD host (LXD finds no ovs-vsctl). " +
		"Install it (apt install openvswitch-switch) and start it, or remove \"bridge.driver\" to get a Linux bridge",
	ovsNotRunning: "Open vSwitch is installed on the LXD host but not running (ovs-vsctl cannot reach ovsdb-server). " +
		"Start it (systemctl start openvswitch-switch), or remove \"bridge.driver\" to get a Linux bridge",
	ovsNoDatapath: "Open vSwitch runs on the LXD host but cannot create the bridge's datapath: the kernel has no openvswitch module (ovs-vswitchd logs \"failed to open datapath\"). " +
		"Load the module (modprobe openvswitch), or give OVS bridges the userspace datapath (datapath_type=netdev; README \"Open vSwitch bridges\"), or remove \"bridge.driver\" to get a Linux bridge",
}

// ovsError is LXD's error with the diagnosis; it keeps LXD's error chain.
type ovsError struct {
	err  error
	hint string
}

func (e *ovsError) Error() string { return e.err.Error() + ": " + e.hint }
func (e *ovsError) Unwrap() error { return e.err }

// ovsFailed adds the diagnosis to err, the failure of writing network n,
// when n is an Open vSwitch bridge and err one of the problems above.
func ovsFailed(n engine.Network, err error) error {
	if err == nil || n.Config["bridge.driver"] != "openvswitch" {
		return err
	}
	p := ovsProblem(err, n.Name)
	if p == 0 {
		return err
	}
	return &ovsError{err: err, hint: ovsHints[p]}
}

// ovsCreateFailed is ovsFailed for a create, which must leave nothing
// behind: LXD 5.0.2 reverts a failed network create itself (checked for all
// three problems), but should a version keep the half-made network (as it
// keeps a failed fan bridge, ERRORED), the next plan would take it for an
// existing network lxnetd does not own. It is deleted here; the create just
// failed, so it cannot be anyone else's.
func (r *Remote) ovsCreateFailed(ctx context.Context, n engine.Network, err error) error {
	err = ovsFailed(n, err)
	var oe *ovsError
	if !errors.As(err, &oe) {
		return err
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	c := r.client(cctx)
	if _, _, gerr := c.GetNetwork(n.Name); gerr == nil {
		if derr := c.DeleteNetwork(n.Name); derr != nil && !errors.Is(mapError(derr), engine.ErrNotFound) {
			return fmt.Errorf("%w (and removing the half-created network failed: %v)", err, derr)
		}
	}
	return err
}
