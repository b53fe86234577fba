//go:build integration

package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestInstanceWithoutStorage reproduces, on the sandbox's real LXD, what an
// LXD killed during an instance create can leave (issue 13): an instance
// whose database record exists but whose storage directory does not. The
// start lxnetd plans fails, and the error says what the instance is and
// what to do; the other changes of the same apply (a new profile, a new
// node) are still done; and the way out the error names (lxc delete
// --force) lets the next apply create the instance again.
func TestInstanceWithoutStorage(t *testing.T) {
	d := sandbox.Primary(t)
	r := connect(t, d.Remote())
	prefix := sandbox.UniqueName(t, "brk")
	s := spec.Settings{Owner: "t-" + prefix, DeleteInstances: true}
	removeAll(t, r, s.Owner)
	broken := spec.Instance{Meta: spec.Meta{Addr: "node.broken"}, Name: prefix + "-b", Image: "busybox", State: "stopped"}
	want := d.Remote()
	want.Instances = []spec.Instance{broken}
	converge(t, r, &want, s)

	dir := filepath.Join(d.Dir, "storage-pools", "default", "containers", broken.Name)
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the instance's storage is not where this test looks: %v", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}

	broken.State = "running"
	want.Instances = []spec.Instance{broken,
		{Meta: spec.Meta{Addr: "node.healthy"}, Name: prefix + "-h", Image: "busybox", State: "stopped"}}
	want.Profiles = []spec.Profile{{Meta: spec.Meta{Addr: "profile.p"}, Name: prefix + "-p"}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := engine.Apply(ctx, r, lxdPlan(t, r, &want, s), engine.ApplyOptions{})
	if err == nil {
		t.Fatal("starting an instance without storage succeeded")
	}
	t.Logf("apply: %v", err)
	for _, hint := range []string{"has lost its storage", "lxc delete --force " + broken.Name, "--replace"} {
		if !strings.Contains(err.Error(), hint) {
			t.Errorf("the error does not say %q", hint)
		}
	}
	var done []string
	for _, cr := range res.Done {
		done = append(done, cr.Change.Addr.String())
	}
	if len(res.Failed) != 1 || len(res.NotDone) != 0 || !strings.Contains(strings.Join(done, " "), "node."+prefix+"-h") ||
		!strings.Contains(strings.Join(done, " "), "profile."+prefix+"-p") {
		t.Errorf("done %v, %d failed, %d not done: want the profile and the healthy node done, only the broken node failed",
			done, len(res.Failed), len(res.NotDone))
	}

	// The first way out the error names: a replace (delete and create).
	p, err := engine.NewPlan(ctx, r, &want, s, engine.PlanOptions{Replace: []string{"node.broken"}})
	if err != nil {
		t.Fatal(err)
	}
	lxdApply(t, r, p)
	if p := lxdPlan(t, r, &want, s); !p.Empty() {
		t.Fatalf("plan after the replace is not empty: %v", describe(p))
	}

	// The second: delete it by hand. Break it again first (stopped, as a
	// create cut short leaves it).
	want.Instances[0].State = "stopped"
	converge(t, r, &want, s)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	want.Instances[0].State = "running"
	d.Lxc(t, "delete", "--force", broken.Name)
	converge(t, r, &want, s)
}
