package engine_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/enginetest"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// A --target plan lists only what its targets need (a forward: networks and
// forwards; a profile: profiles and instances; a node, which selects the
// forwards exposing it too: everything; another remote: nothing), and plans exactly the changes a plan
// that read everything selects for the same targets.
func TestTargetedPlanReadsOnlyWhatItNeeds(t *testing.T) {
	ctx := context.Background()
	f := enginetest.New("local")
	apply(t, f, plan(t, f, web(), settings))
	d := web()
	d.Profiles[0].Config["limits.memory"] = "128MiB"
	d.Instances[0].Description = "changed"
	d.Forwards = []spec.Forward{{Meta: spec.Meta{Addr: "forward.extra"}, Network: "br0", ListenAddress: "198.51.100.30",
		Ports: []spec.ForwardPort{{ListenPort: "22", TargetAddress: "10.231.1.10"}}}}
	d.Networks[0].Config["ipv4.nat"] = "false"
	// Someone else's forward that lxnetd owns and no longer declares: a
	// prune a forward target may select.
	if err := f.CreateForward(ctx, engine.Forward{Network: "br0", ListenAddress: "198.51.100.31",
		Config: map[string]string{"user.lxnetd.owner": settings.Owner}}); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		targets  []string
		requests int64
		want     []string
	}{
		{[]string{"forward.extra"}, 2, []string{"+ forward.br0/198.51.100.30"}},
		{[]string{"forward.br0/198.51.100.31"}, 2, []string{"- forward.br0/198.51.100.31"}},
		{[]string{"node.web1"}, 6, []string{"~ node.web1"}},
		{[]string{"profile.web"}, 3, []string{"~ profile.web"}},
		{[]string{"remote.elsewhere"}, 0, nil},
		{[]string{"network.br0"}, 6, []string{"~ network.br0"}},
		{[]string{"remote.local"}, 6, nil}, // everything: checked against the full plan below
	} {
		o, err := engine.Observe(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.ResolveImages(ctx, f, d); err != nil {
			t.Fatal(err)
		}
		full, err := o.Plan(d, settings, engine.PlanOptions{Targets: c.targets})
		if err != nil {
			t.Fatal(err)
		}
		p, err := engine.NewPlan(ctx, f, d, settings, engine.PlanOptions{Targets: c.targets})
		if err != nil {
			t.Fatalf("%v: %v", c.targets, err)
		}
		if diff := cmp.Diff(addrs(full), addrs(p)); diff != "" {
			t.Errorf("%v: targeted reads plan differently than full reads (-full +targeted):\n%s", c.targets, diff)
		}
		if c.want != nil {
			if diff := cmp.Diff(c.want, addrs(p)); diff != "" {
				t.Errorf("%v: changes (-want +got):\n%s", c.targets, diff)
			}
		}
		if p.Requests != c.requests {
			t.Errorf("%v: %d requests, want %d", c.targets, p.Requests, c.requests)
		}
	}
}
