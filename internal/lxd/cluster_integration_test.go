//go:build integration

package lxd

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestCluster runs the adapter against a 2-member LXD cluster of its own
// (sandbox.Cluster), connected through m2 over pinned HTTPS: networks are
// created on every member (pending, then global) with member-specific keys
// only in the targeted requests, a failed create leaves no pending network,
// instances land on the member named by Location and are listed with it.
func TestCluster(t *testing.T) {
	t.Parallel()
	ms := sandbox.Cluster(t, 2)
	m1, m2 := ms[0], ms[1]
	r := connect(t, m2)
	if !r.Clustered() {
		t.Fatal("Clustered() = false on a cluster member")
	}
	if connect(t, sandbox.Primary(t)).Clustered() {
		t.Error("Clustered() = true on the standalone primary")
	}
	ctx := testCtx(t)

	t.Run("bridge", func(t *testing.T) {
		name := sandbox.UniqueName(t, "lxc")
		cidr := sandbox.AllocSubnet(t)
		t.Cleanup(func() { _, _ = m1.LxcErr("network", "delete", name) })
		want := engine.Network{Name: name, Type: "bridge", Description: "cluster test",
			Config: map[string]string{"ipv4.address": gateway(cidr), "ipv4.nat": "true", "ipv6.address": "none", "user.lxnetd.owner": "test"}}
		before := r.Requests()
		if err := r.CreateNetwork(ctx, want); err != nil {
			t.Fatal(err)
		}
		if n := r.Requests() - before; n != 6 {
			t.Errorf("CreateNetwork on 2 members took %d requests, want 6 (members, 2 pending, global, description GET+PUT)", n)
		}
		got, ok := findNetwork(t, r, name)
		if !ok {
			t.Fatalf("network %s not listed after create", name)
		}
		// LXD lists members in any order: compared as a set, and the
		// adapter must hand them over sorted.
		if got.Status != "Created" || !slices.Equal(slices.Sorted(slices.Values(got.Locations)), []string{"m1", "m2"}) ||
			!slices.IsSorted(got.Locations) || got.Description != "cluster test" {
			t.Errorf("listed network: %+v", got)
		}
		for k, v := range want.Config {
			if got.Config[k] != v {
				t.Errorf("config %s = %q, want %q", k, got.Config[k], v)
			}
		}
		// Each member has the bridge up, in its own namespace.
		for _, m := range ms {
			var st struct{ State string }
			mustDecode(t, m1.Lxc(t, "query", "/1.0/networks/"+name+"/state?target="+m.Name), &st)
			if st.State != "up" {
				t.Errorf("bridge %s on %s: state %q", name, m.Name, st.State)
			}
		}
		upd := got
		upd.Config = maps2(got.Config, "user.x", "1")
		if err := r.UpdateNetwork(ctx, upd); err != nil {
			t.Fatal(err)
		}
		if out := m1.Lxc(t, "network", "get", name, "user.x"); strings.TrimSpace(out) != "1" {
			t.Errorf("after update user.x = %q", out)
		}
		if err := r.DeleteNetwork(ctx, name); err != nil {
			t.Fatal(err)
		}
		if _, ok := findNetwork(t, r, name); ok {
			t.Error("network still listed after delete")
		}
	})

	t.Run("forwards", func(t *testing.T) { clusterForwards(t, ctx, r, ms) })

	t.Run("member keys", func(t *testing.T) {
		// Every member's namespace has an eth0: a macvlan network's parent
		// is member-specific and goes with the pending creates only.
		name := sandbox.UniqueName(t, "lxc")
		t.Cleanup(func() { _, _ = m1.LxcErr("network", "delete", name) })
		n := engine.Network{Name: name, Type: "macvlan", Config: map[string]string{"parent": "eth0", "user.lxnetd.owner": "test"}}
		if err := r.CreateNetwork(ctx, n); err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if out := m1.Lxc(t, "network", "get", name, "parent", "--target", m.Name); strings.TrimSpace(out) != "eth0" {
				t.Errorf("parent on %s = %q, want eth0", m.Name, out)
			}
		}
		if out := m1.Lxc(t, "network", "get", name, "user.lxnetd.owner"); strings.TrimSpace(out) != "test" {
			t.Errorf("global user.lxnetd.owner = %q", out)
		}
	})

	t.Run("failed create leaves nothing", func(t *testing.T) {
		name := sandbox.UniqueName(t, "lxc")
		t.Cleanup(func() { _, _ = m1.LxcErr("network", "delete", name) })
		err := r.CreateNetwork(ctx, engine.Network{Name: name, Type: "bridge", Config: map[string]string{"ipv4.address": "not-an-address"}})
		if err == nil {
			t.Fatal("create with an invalid ipv4.address succeeded")
		}
		t.Logf("invalid create: %v", err)
		if _, ok := findNetwork(t, r, name); ok {
			t.Errorf("network %s remains (pending) after a failed create", name)
		}
	})

	t.Run("events", func(t *testing.T) {
		// Watching through m2 reports what happens on m1: the daemon needs
		// one event stream per cluster, not one per member.
		probe, cancel, done := startWatch(t, m1, r)
		name := sandbox.UniqueName(t, "lxc")
		t.Cleanup(func() { deleteInstanceByHand(m1, name) })
		start := time.Now()
		m1.Lxc(t, "init", "busybox", name, "--target", "m1")
		t.Logf("event of an instance created on m1, seen through m2, %v after lxc started",
			probe.rec.waitFor(t, "/1.0/instances/"+name, start, time.Minute))
		cancel()
		if err := <-done; err != nil {
			t.Errorf("WatchLifecycle after cancel: %v", err)
		}
	})

	t.Run("placement", func(t *testing.T) {
		names := map[string]string{}
		for _, m := range []string{"m2", "m1"} {
			name := sandbox.UniqueName(t, "lxc")
			names[m] = name
			t.Cleanup(func() { deleteInstanceByHand(m1, name) })
			if err := r.CreateInstance(ctx, engine.Instance{Name: name, Type: "container", Image: "busybox", Location: m,
				Profiles: []string{"default"}, Config: map[string]string{"user.lxnetd.owner": "test"}}); err != nil {
				t.Fatal(err)
			}
		}
		before := r.Requests()
		is, err := r.ListInstances(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n := r.Requests() - before; n != 1 {
			t.Errorf("ListInstances on a cluster took %d requests, want 1", n)
		}
		for m, name := range names {
			i := slices.IndexFunc(is, func(i engine.Instance) bool { return i.Name == name })
			if i < 0 || is[i].Location != m {
				t.Errorf("instance %s: not listed on %s (index %d)", name, m, i)
				continue
			}
			// What lxc says, through the other member.
			var got struct{ Location string }
			mustDecode(t, m1.Lxc(t, "query", "/1.0/instances/"+name), &got)
			if got.Location != m {
				t.Errorf("lxc: %s is on %q, want %s", name, got.Location, m)
			}
		}
		// State changes and deletes find the instance wherever it is.
		name := names["m2"]
		if err := r.SetInstanceState(ctx, name, "start", false); err != nil {
			t.Fatal(err)
		}
		if i, _ := findInstance(t, r, name); i.Status != "Running" || i.Location != "m2" {
			t.Errorf("after start: %s on %s", i.Status, i.Location)
		}
		if err := r.DeleteInstance(ctx, name); err != nil {
			t.Fatal(err)
		}
		if _, ok := findInstance(t, r, name); ok {
			t.Error("instance still listed after delete")
		}
		other := sandbox.UniqueName(t, "lxc")
		t.Cleanup(func() { deleteInstanceByHand(m1, other) })
		err = r.CreateInstance(ctx, engine.Instance{Name: other, Image: "busybox", Location: "m9"})
		if err == nil {
			t.Fatal("create on an unknown member succeeded")
		}
		t.Logf("unknown member: %v", err)
	})
}

func mustDecode(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decoding %q: %v", s, err)
	}
}
