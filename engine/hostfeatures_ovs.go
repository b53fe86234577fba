package engine

import "strings"

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
// recognises the three; each is one row of hostFeatures (hostfeatures.go),
// which says what is missing and what to do, and removes what a failed
// create left behind, as for every other host feature.

// OVS problems, as ovsProblem classifies LXD's error.
const (
	ovsNotInstalled = iota + 1
	ovsNotRunning
	ovsNoDatapath
)

// ovsProblem classifies msg, LXD's answer to creating or updating network
// name with bridge.driver=openvswitch; 0 when it is none of the three.
func ovsProblem(msg, name string) int {
	msg = strings.ToLower(msg)
	switch {
	case strings.Contains(msg, "open vswitch isn't installed"),
		strings.Contains(msg, `"ovs-vsctl": executable file not found`):
		return ovsNotInstalled
	case strings.Contains(msg, "ovs-vsctl") && (strings.Contains(msg, "database connection failed") || strings.Contains(msg, "db.sock")):
		return ovsNotRunning
	case strings.Contains(msg, "failed to open datapath"):
		return ovsNoDatapath
	}
	// The bridge's interface is missing after OVS accepted it. The network
	// itself (`creating network "NAME": …`, `Network "NAME" not found`) is
	// not its interface.
	n := strings.ToLower(name)
	msg = strings.ReplaceAll(msg, `network "`+n+`"`, "")
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

// ovs matches problem p of an Open vSwitch bridge being created or changed
// (a delete is left as LXD says it: "remove bridge.driver" is no advice for
// it).
func ovs(p int) func(msg string, c *Change) bool {
	return func(msg string, c *Change) bool {
		return c.Action != Delete && c.Network.Config["bridge.driver"] == "openvswitch" && ovsProblem(msg, c.Network.Name) == p
	}
}

// ovsFeature is what the configuration asks for with bridge.driver.
const ovsFeature = `Open vSwitch bridges (bridge.driver = "openvswitch")`

// ovsFeatures are the rows of hostFeatures for Open vSwitch, one per
// problem; the hints say what is missing and what to do.
var ovsFeatures = []hostFeature{
	{
		match:   ovs(ovsNotInstalled),
		feature: ovsFeature,
		missing: "Open vSwitch (ovs-vsctl in LXD's PATH)",
		hint: "Open vSwitch is not installed on the LXD host (LXD finds no ovs-vsctl). " +
			"Install it (apt install openvswitch-switch) and start it, or remove \"bridge.driver\" to get a Linux bridge",
	},
	{
		match:   ovs(ovsNotRunning),
		feature: ovsFeature,
		missing: "a running Open vSwitch (ovsdb-server and ovs-vswitchd)",
		hint: "Open vSwitch is installed on the LXD host but not running (ovs-vsctl cannot reach ovsdb-server). " +
			"Start it (systemctl start openvswitch-switch), or remove \"bridge.driver\" to get a Linux bridge",
	},
	{
		match:   ovs(ovsNoDatapath),
		feature: ovsFeature,
		missing: "a datapath for the bridge (the kernel's openvswitch module, or OVS's userspace datapath)",
		hint: "Open vSwitch runs on the LXD host but cannot create the bridge's datapath: the kernel has no openvswitch module (ovs-vswitchd logs \"failed to open datapath\"). " +
			"Load the module (modprobe openvswitch), or give OVS bridges the userspace datapath (datapath_type=netdev; README \"Open vSwitch bridges\"), or remove \"bridge.driver\" to get a Linux bridge",
	},
}
