package engine_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/enginetest"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// onCluster is web() on a 3-member fake cluster with web1 placed on m2:
// its service's forward follows it there.
func onCluster() (*enginetest.Fake, *spec.Remote) {
	f := enginetest.New("local")
	f.Members = []string{"m1", "m2", "m3"}
	d := web()
	d.Instances[0].Target = "m2"
	return f, d
}

// forwardsOf lists the fake's forwards of br0 as "listen@member".
func forwardsOf(f *enginetest.Fake) []string {
	var out []string
	for _, fw := range f.Forwards["br0"] {
		out = append(out, fw.ListenAddress+"@"+fw.Location)
	}
	slices.Sort(out)
	return out
}

func TestClusterForwardFollowsItsNode(t *testing.T) {
	f, d := onCluster()
	p := plan(t, f, d, settings)
	c := p.Changes[len(p.Changes)-1]
	if c.Addr.String() != "forward.br0/198.51.100.10@m2" || c.Action != engine.Create || !slices.Contains(diffKeys(c), `target: - → "m2"`) {
		t.Fatalf("forward change %s %s %v, want a create on m2 showing its target", c.Action.Symbol(), c.Addr, diffKeys(c))
	}
	apply(t, f, p)
	if got := forwardsOf(f); !slices.Equal(got, []string{"198.51.100.10@m2"}) {
		t.Fatalf("forwards %v, want one on m2", got)
	}
	again := plan(t, f, d, settings)
	if !again.Empty() {
		t.Fatalf("second plan not empty: %v", addrs(again))
	}
	// Same request count as a standalone server: one forward list holds
	// every member's forwards.
	solo := enginetest.New("local")
	apply(t, solo, plan(t, solo, web(), settings))
	if s := plan(t, solo, web(), settings); s.Requests != again.Requests {
		t.Fatalf("cluster plan took %d requests, standalone %d", again.Requests, s.Requests)
	}
}

func TestClusterForwardOnWrongMemberIsReplaced(t *testing.T) {
	f, d := onCluster()
	apply(t, f, plan(t, f, d, settings))
	// web1 moves to m3 (a replace of the node): its forward follows.
	d.Instances[0].Target = "m3"
	p := plan(t, f, d, spec.Settings{Owner: "test", DeleteInstances: true})
	var fc *engine.Change
	for _, c := range p.Changes {
		if c.Addr.Kind == engine.KindForward {
			fc = c
		}
	}
	if fc == nil || fc.Action != engine.Replace || fc.Addr.String() != "forward.br0/198.51.100.10@m3" ||
		!slices.Contains(diffKeys(fc), `target: "m2" → "m3"`) || !strings.Contains(fc.Reason, `"m2"`) {
		t.Fatalf("plan %v; forward change %+v, want a replace from m2 to m3", addrs(p), fc)
	}
	f.Writes = nil
	apply(t, f, p)
	if got := forwardsOf(f); !slices.Equal(got, []string{"198.51.100.10@m3"}) {
		t.Fatalf("forwards %v, want one on m3", got)
	}
	if i, j := slices.Index(f.Writes, "delete-forward br0/198.51.100.10"), slices.Index(f.Writes, "create-forward br0/198.51.100.10"); i < 0 || j < i {
		t.Fatalf("writes %v: want the delete on m2, then the create on m3", f.Writes)
	}
	if again := plan(t, f, d, spec.Settings{Owner: "test", DeleteInstances: true}); !again.Empty() {
		t.Fatalf("second plan not empty: %v", addrs(again))
	}
}

func TestClusterForwardMembers(t *testing.T) {
	f, d := onCluster()
	apply(t, f, plan(t, f, d, settings))
	// An owned stray with the same listen address on m1 (an interrupted
	// replace, say) is deleted there; an unowned one on m3 is left alone.
	stray := f.Forwards["br0"][enginetest.ForwardKey("198.51.100.10", "m2")]
	stray.Location = "m1"
	f.Forwards["br0"][enginetest.ForwardKey("198.51.100.10", "m1")] = stray
	f.Forwards["br0"][enginetest.ForwardKey("198.51.100.10", "m3")] = engine.Forward{Network: "br0", ListenAddress: "198.51.100.10", Location: "m3", Config: map[string]string{}}
	p := plan(t, f, d, settings)
	if d := cmp.Diff([]string{"- forward.br0/198.51.100.10@m1"}, addrs(p)); d != "" {
		t.Fatalf("changes (-want +got):\n%s", d)
	}
	apply(t, f, p)
	if got := forwardsOf(f); !slices.Equal(got, []string{"198.51.100.10@m2", "198.51.100.10@m3"}) {
		t.Fatalf("forwards %v", got)
	}

	// A forward that no block places is matched on whatever member it is.
	f, d = onCluster()
	d.Instances[0].Target = ""
	f.Members = []string{"m3", "m1", "m2"} // requests reach m3
	apply(t, f, plan(t, f, d, settings))
	if got := forwardsOf(f); !slices.Equal(got, []string{"198.51.100.10@m3"}) {
		t.Fatalf("forwards %v, want one where the request landed", got)
	}
	f.Members = []string{"m1", "m2", "m3"}
	if again := plan(t, f, d, settings); !again.Empty() {
		t.Fatalf("plan of an unplaced forward on m3: %v", addrs(again))
	}
}

func TestForwardPlacedTwiceIsAProblem(t *testing.T) {
	f, d := onCluster()
	d.Forwards = []spec.Forward{{Meta: spec.Meta{Addr: "forward.f"}, Network: "br0", ListenAddress: "198.51.100.10", Target: "m1",
		Ports: []spec.ForwardPort{{ListenPort: "8080", TargetAddress: "10.231.1.10"}}}}
	_, err := engine.NewPlan(t.Context(), f, d, settings, engine.PlanOptions{})
	if err == nil || !strings.Contains(err.Error(), `placed on cluster member "m1" by forward.f`) {
		t.Fatalf("plan error %v, want the forward placed on two members", err)
	}
}

// The daemon's refresh of a forward event on a cluster network re-lists
// the network's forwards (the event does not say which member's changed):
// a forward deleted by hand on its member shows as missing there.
func TestClusterForwardRefresh(t *testing.T) {
	ctx := t.Context()
	f, d := onCluster()
	apply(t, f, plan(t, f, d, settings))
	o, err := engine.Observe(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.DeleteForward(ctx, "br0", "198.51.100.10", "m2"); err != nil {
		t.Fatal(err)
	}
	before := f.Requests()
	if err := o.Refresh(ctx, f, engine.Address{Kind: engine.KindForward, Network: "br0", Name: "198.51.100.10"}); err != nil {
		t.Fatal(err)
	}
	if n := f.Requests() - before; n != 1 {
		t.Errorf("refresh took %d requests, want one forward list", n)
	}
	p, err := o.Plan(d, settings, engine.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := addrs(p); !slices.Equal(got, []string{"+ forward.br0/198.51.100.10@m2"}) {
		t.Fatalf("plan after the refresh: %v, want the forward created again on m2", got)
	}
}
