package engine_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/enginetest"
	"github.com/lxnetd/lxnetd/engine/spec"
)

func destroyPlan(t *testing.T, r engine.Remote, declared *spec.Remote, s spec.Settings, targets ...string) *engine.Plan {
	t.Helper()
	obs, err := engine.Observe(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	p, err := obs.DestroyPlan(declared, s, engine.PlanOptions{Targets: targets})
	if err != nil {
		t.Fatalf("destroy plan: %v", err)
	}
	return p
}

// withStrangers applies web() for settings' owner, then adds objects
// lxnetd must never touch: an unowned profile, one of another owner, and
// an unowned instance on the owned bridge.
func withStrangers(t *testing.T) *enginetest.Fake {
	f := enginetest.New("local")
	apply(t, f, plan(t, f, web(), settings))
	f.Profiles["hand"] = engine.Profile{Name: "hand", ETag: "h", Config: map[string]string{"limits.cpu": "1"}, Devices: map[string]map[string]string{}}
	f.Profiles["theirs"] = engine.Profile{Name: "theirs", ETag: "t", Config: map[string]string{engine.TagOwner: "someone-else"}, Devices: map[string]map[string]string{}}
	f.Instances["hand"] = engine.Instance{Name: "hand", Type: "container", Status: "Running", ETag: "i",
		Profiles: []string{"default"}, Devices: map[string]map[string]string{"eth0": {"type": "nic", "network": "br0"}}}
	return f
}

func TestDestroyPlanDeletesOnlyOwned(t *testing.T) {
	f := withStrangers(t)
	s := settings
	s.DeleteInstances = true
	// The configuration declares an object of the same name as the unowned
	// profile without adopt: apply's plan would fail on it; destroy's does
	// not, and leaves it alone.
	declared := web()
	declared.Profiles = append(declared.Profiles, spec.Profile{Meta: spec.Meta{Addr: "profile.hand"}, Name: "hand"})
	p := destroyPlan(t, f, declared, s)
	for _, c := range p.Changes {
		if c.Action != engine.Delete {
			t.Errorf("destroy plan has a %s: %s", c.Action, c.Addr)
		}
	}
	if d := cmp.Diff([]string{"- forward.br0/198.51.100.10", "- node.web1", "- profile.web"}, addrs(p)); d != "" {
		t.Fatalf("destroy (-want +got):\n%s", d)
	}
	wantBlockers := []string{`network.br0 is not deleted: still used by instance "hand", which lxnetd does not manage`}
	if d := cmp.Diff(wantBlockers, p.Blockers); d != "" {
		t.Errorf("blockers (-want +got):\n%s", d)
	}
	apply(t, f, p)
	for _, name := range []string{"hand", "theirs", "default"} {
		if _, ok := f.Profiles[name]; !ok {
			t.Errorf("profile %q was deleted", name)
		}
	}
	if _, ok := f.Instances["hand"]; !ok {
		t.Error("the unowned instance was deleted")
	}

	// Without the unowned instance the bridge goes too, and then nothing is left.
	delete(f.Instances, "hand")
	p = destroyPlan(t, f, nil, s)
	if d := cmp.Diff([]string{"- network.br0"}, addrs(p)); d != "" {
		t.Fatalf("second destroy (-want +got):\n%s", d)
	}
	apply(t, f, p)
	if p := destroyPlan(t, f, nil, s); !p.Empty() || len(p.Blockers) != 0 || p.Owned != 0 {
		t.Fatalf("third destroy: %v, blockers %v, owned %d", addrs(p), p.Blockers, p.Owned)
	}
}

func TestDestroyPlanKeepsInstancesWithoutDeleteInstances(t *testing.T) {
	f := enginetest.New("local")
	apply(t, f, plan(t, f, web(), settings))
	p := destroyPlan(t, f, web(), settings)
	if d := cmp.Diff([]string{"- forward.br0/198.51.100.10"}, addrs(p)); d != "" {
		t.Fatalf("destroy (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"node.web1"}, p.Orphans); d != "" {
		t.Errorf("orphans: %s", d)
	}
	if len(p.Blockers) != 2 {
		t.Errorf("want the bridge and the profile blocked by the kept node, got %q", p.Blockers)
	}
}

func TestDestroyPlanTargets(t *testing.T) {
	f := enginetest.New("local")
	apply(t, f, plan(t, f, web(), settings))
	s := settings
	s.DeleteInstances = true
	for target, want := range map[string][]string{
		// A node's own block selects only the node, not the forward pointing at it.
		"node.web1": {"- node.web1"},
		// A service selects the forward its ports are compiled into, never the node.
		"service.web":   {"- forward.br0/198.51.100.10"},
		"service.admin": nil,
		// The object's own address works too.
		"forward.br0/198.51.100.10": {"- forward.br0/198.51.100.10"},
		// Still used by the node, which stays: blocked, not attempted.
		"network.br0":  nil,
		"remote.local": {"- forward.br0/198.51.100.10", "- node.web1", "- profile.web", "- network.br0"},
		"remote.other": nil,
	} {
		p := destroyPlan(t, f, web(), s, target)
		if d := cmp.Diff(want, addrs(p)); d != "" {
			t.Errorf("--target %s (-want +got):\n%s", target, d)
		}
		if target == "network.br0" && len(p.Blockers) != 1 {
			t.Errorf("--target network.br0: blockers %q, want the node", p.Blockers)
		}
	}

	// A node declared under another block label is selected by that label,
	// and a kept (orphaned) node is listed only when targeted.
	declared := web()
	declared.Instances[0].Addr = "node.web"
	if d := cmp.Diff([]string{"- node.web1"}, addrs(destroyPlan(t, f, declared, s, "node.web"))); d != "" {
		t.Errorf("--target node.web (-want +got):\n%s", d)
	}
	if p := destroyPlan(t, f, declared, settings, "profile.web"); len(p.Orphans) != 0 {
		t.Errorf("--target profile.web lists orphans %v", p.Orphans)
	}
	if p := destroyPlan(t, f, declared, settings, "node.web"); !cmp.Equal(p.Orphans, []string{"node.web1"}) {
		t.Errorf("--target node.web: orphans %v", p.Orphans)
	}
}
