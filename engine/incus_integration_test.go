//go:build integration

package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestIncusRefusesForwardBesideProxyInPlan: on the real Incus daemon, a
// forward and a proxy device on one listen address (which LXD takes, see
// webRemote) is a plan error that names the server, the proxy port and the
// way out, before any write; Incus itself would answer the forward's create
// with a bare "overlaps with another network or NIC".
func TestIncusRefusesForwardBesideProxyInPlan(t *testing.T) {
	d := sandbox.Incus(t)
	r := connect(t, d.Remote())
	bridge, prefix := sandbox.UniqueName(t, "lxi"), sandbox.UniqueName(t, "ic")
	want, _ := webRemote(t, d, bridge, prefix, sandbox.AllocSubnet(t), "198.51.100.250")
	for i := range want.Exposures {
		want.Exposures[i].ListenAddress = "198.51.100.250" // the proxy port too
	}
	_, err := engine.NewPlan(context.Background(), r, want, settings, engine.PlanOptions{})
	for _, s := range []string{
		`remote "incus" (` + d.Server(t) + `) refuses proxy device "lxnetd-admin-ui" of node "` + prefix + `-web" on 198.51.100.250`,
		"give the proxy port another listen address",
	} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Fatalf("plan on Incus: %v\nwant it to contain %q", err, s)
		}
	}
	if out, err := d.LxcErr("network", "show", bridge); err == nil {
		t.Fatalf("the refused plan wrote: %s", out)
	}
}
