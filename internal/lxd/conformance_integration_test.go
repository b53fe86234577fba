//go:build integration

package lxd

import (
	"testing"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/enginetest/conformance"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestConformance runs the engine.Remote suite against the sandbox's
// primary LXD; engine/enginetest's TestFakeConformance runs the same suite
// against the fake, so the two cannot disagree unnoticed.
func TestConformance(t *testing.T) {
	d := sandbox.Primary(t)
	conformance.Run(t, conformance.Env{
		NewRemote: func(t *testing.T) engine.Remote { return connect(t, d) },
		Name: func(t testing.TB, prefix string) string {
			name := sandbox.UniqueName(t, "cf"+prefix)
			// A backstop, should the suite's own deletes through the
			// adapter have failed: whatever of this name is left goes.
			t.Cleanup(func() {
				if t.Failed() {
					removeByHand(d, name)
				}
			})
			return name
		},
		Subnet:       sandbox.AllocSubnet,
		FloatingIP:   sandbox.FloatingIP,
		Image:        "busybox",
		MissingImage: sandbox.UniqueName(t, "noimg"),
	})
}

// removeByHand deletes an instance, profile, network or ACL of this name, if any.
func removeByHand(d *sandbox.Daemon, name string) {
	for _, args := range [][]string{{"delete", "--force", name}, {"profile", "delete", name}, {"network", "delete", name}, {"network", "acl", "delete", name}} {
		_, _ = d.LxcErr(args...)
	}
}
