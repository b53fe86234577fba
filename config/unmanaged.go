package config

import (
	"fmt"
	"regexp"

	"github.com/hashicorp/hcl/v2"
)

// Some LXD objects lxnetd does not manage at all. An operator who writes a
// block for one gets, instead of hcl's generic "Unsupported block type",
// what the object is, why lxnetd has no block for it (the LXD version or
// API extension it needs), and what to use instead. This is decided at
// validate time because it does not depend on the server: no server makes
// lxnetd manage these.

// unmanagedBlock explains one kind of LXD object lxnetd has no block for.
type unmanagedBlock struct {
	summary string
	detail  string
}

// unmanagedBlocks are keyed by every block type an operator may reach for
// (the API's word and the lxc command's word).
var unmanagedBlocks = func() map[string]unmanagedBlock {
	lb := unmanagedBlock{
		summary: "Network load balancers are not managed by lxnetd",
		detail: "LXD network load balancers need API extension network_load_balancer, which LXD 5.0 (the LTS lxnetd is built and tested against) does not have; " +
			"newer LXD has them on OVN networks only. lxnetd has no block for them. " +
			"Expose the port on each backend node with a service block (via = \"forward\", \"proxy\" or \"nat\") instead.",
	}
	peer := unmanagedBlock{
		summary: "Network peers are not managed by lxnetd",
		detail: "LXD network peers (API extension network_peer) connect two OVN networks, and lxnetd has no block for them. " +
			"Create the peering with `lxc network peer create` on the OVN networks; lxnetd leaves objects it does not own alone.",
	}
	return map[string]unmanagedBlock{
		"load_balancer": lb, "network_load_balancer": lb, "load-balancer": lb,
		"peer": peer, "network_peer": peer,
	}
}()

// unsupportedBlockRE takes the block type out of hcl's detail text.
var unsupportedBlockRE = regexp.MustCompile(`^Blocks of type "([^"]+)" are not expected here`)

// explainUnmanagedBlock rewrites hcl's "Unsupported block type" diagnostic
// for a block type of unmanagedBlocks; other diagnostics are left alone.
func explainUnmanagedBlock(d *hcl.Diagnostic) {
	if d.Summary != "Unsupported block type" {
		return
	}
	m := unsupportedBlockRE.FindStringSubmatch(d.Detail)
	if m == nil {
		return
	}
	u, ok := unmanagedBlocks[m[1]]
	if !ok {
		return
	}
	d.Summary = u.summary
	d.Detail = fmt.Sprintf("Blocks of type %q are not expected here. %s", m[1], u.detail)
}
