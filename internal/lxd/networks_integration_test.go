//go:build integration

package lxd

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestListNetworksManagedOneByOne: ListNetworks, which GETs only the
// managed networks the project names, lists a managed bridge exactly as the
// bulk list does, and the host's interfaces ("lo", always there) by name
// only, unmanaged; in a non-default project without its own networks it
// finds the default project's. Its cost, 2 + one request per managed
// network, is counted exactly by engine's TestLXDNoOpPlanRequestsAreBulk on
// a private daemon (here other tests add and remove networks meanwhile).
func TestListNetworksManagedOneByOne(t *testing.T) {
	bothDaemons(t, func(t *testing.T, d *sandbox.Daemon, r *Remote) {
		ctx := testCtx(t)
		name := sandbox.UniqueName(t, "lxln")
		d.CreateBridge(t, name)
		d.Lxc(t, "network", "set", name, "user.test", "yes")

		got, err := r.ListNetworks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		bulk, err := r.listNetworksBulk(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pick := func(list []engine.Network, n string) (engine.Network, bool) {
			for _, x := range list {
				if x.Name == n {
					return x, true
				}
			}
			return engine.Network{}, false
		}
		one, ok := pick(got, name)
		want, _ := pick(bulk, name)
		if !ok || !one.Managed {
			t.Fatalf("bridge %s not listed as managed: %+v", name, one)
		}
		if diff := cmp.Diff(want, one); diff != "" {
			t.Errorf("bridge read one by one differs from the bulk list (-bulk +one):\n%s", diff)
		}
		if lo, ok := pick(got, "lo"); !ok || lo.Managed || len(lo.Config) != 0 {
			t.Errorf("lo listed as %+v (found %v), want its name only, unmanaged", lo, ok)
		}

		project := sandbox.UniqueName(t, "lxlp")
		d.Lxc(t, "project", "create", project, "-c", "features.networks=false", "-c", "features.profiles=false")
		t.Cleanup(func() { _, _ = d.LxcErr("project", "delete", project) })
		sr := d.Remote()
		sr.Project = project
		pr, err := Connect(ctx, &sr)
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		inProject, err := pr.ListNetworks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n, ok := pick(inProject, name); !ok || !n.Managed {
			t.Errorf("a project without networks of its own does not list the default project's bridge %s: %+v", name, n)
		}
	})
}
