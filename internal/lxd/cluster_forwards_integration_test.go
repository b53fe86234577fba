//go:build integration

package lxd

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// clusterForwards checks forwards on a cluster bridge (r is connected
// through m2 of ms): each is on one member, a create goes to
// Forward.Location (not to the member the request reaches), one list holds
// every member's with its location (the same listen address on two
// members too), and reads, updates and deletes reach the member named.
func clusterForwards(t *testing.T, ctx context.Context, r *Remote, ms []*sandbox.Daemon) {
	name := sandbox.UniqueName(t, "lxc")
	cidr := sandbox.AllocSubnet(t)
	t.Cleanup(func() { _, _ = ms[0].LxcErr("network", "delete", name) })
	if err := r.CreateNetwork(ctx, engine.Network{Name: name, Type: "bridge",
		Config: map[string]string{"ipv4.address": gateway(cidr), "ipv6.address": "none"}}); err != nil {
		t.Fatal(err)
	}
	fip := sandbox.FloatingIP(t)
	port := func(host string) []engine.ForwardPort {
		return []engine.ForwardPort{{Protocol: "tcp", ListenPort: "80", TargetAddress: host}}
	}
	on := func(member string) engine.Forward {
		return engine.Forward{Network: name, ListenAddress: fip, Config: map[string]string{"user.m": member},
			Ports: port(sandbox.HostIP(cidr, 10)), Location: member}
	}
	for _, m := range []string{"m1", "m2"} {
		if err := r.CreateForward(ctx, on(m)); err != nil {
			t.Fatalf("creating the forward on %s: %v", m, err)
		}
	}
	listed, err := r.ListForwards(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	var where []string
	for _, f := range listed {
		if f.ListenAddress == fip && f.Config["user.m"] == f.Location {
			where = append(where, f.Location)
		}
	}
	if slices.Sort(where); !slices.Equal(where, []string{"m1", "m2"}) {
		t.Fatalf("listed %+v, want the forward on m1 and on m2, each with its location", listed)
	}
	got, err := r.GetForward(ctx, name, fip, "m1")
	if err != nil || got.Location != "m1" || got.Config["user.m"] != "m1" {
		t.Fatalf("GetForward on m1: %+v, %v", got, err)
	}
	upd := on("m1")
	upd.Description = "on m1"
	if err := r.UpdateForward(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.GetForward(ctx, name, fip, "m2"); got.Description != "" {
		t.Errorf("updating m1's forward changed m2's: %+v", got)
	}
	// Deletes reach the member named; through m2 without a target, LXD
	// would delete m2's.
	if err := r.DeleteForward(ctx, name, fip, "m1"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.GetForward(ctx, name, fip, "m1"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("m1's forward after its delete: %v, want not found", err)
	}
	if got, err := r.GetForward(ctx, name, fip, "m2"); err != nil || got.Location != "m2" {
		t.Errorf("m2's forward after m1's delete: %+v, %v", got, err)
	}
	if err := r.DeleteForward(ctx, name, fip, "m2"); err != nil {
		t.Fatal(err)
	}
}
