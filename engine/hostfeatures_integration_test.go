//go:build integration

package engine_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestLXDHostFeatureRefusals applies, on the sandbox's real LXD 5.0.2 (a
// host without gretap, fan-map or OVN), a GRE bridge, a fan bridge, an OVN
// network and GRE added to an existing bridge, beside a new profile. Each
// network change fails with an error naming the missing host feature and
// the remote; nothing is left half-created (no new network, the existing
// bridge keeps its config); the profile is created; the next plan proposes
// exactly the failed changes again.
func TestLXDHostFeatureRefusals(t *testing.T) {
	d := sandbox.Primary(t)
	r := connect(t, d.Remote())
	s := spec.Settings{Owner: "t-" + sandbox.UniqueName(t, "hf")}
	removeAll(t, r, s.Owner)
	plainNet, upNet, ovnNet := sandbox.AllocSubnet(t), sandbox.AllocSubnet(t), sandbox.AllocSubnet(t)
	// Names short enough for LXD's <bridge>-<tunnel> and <bridge>-fan.
	plain, uplink := sandbox.UniqueName(t, "p"), sandbox.UniqueName(t, "u")
	gre, fan, ovn := sandbox.UniqueName(t, "g"), sandbox.UniqueName(t, "f"), sandbox.UniqueName(t, "o")
	gw := func(subnet string) string { return sandbox.HostIP(subnet, 1) + "/24" }
	greKeys := map[string]string{"tunnel.t.protocol": "gre", "tunnel.t.local": sandbox.HostIP(plainNet, 1), "tunnel.t.remote": sandbox.HostIP(plainNet, 2)}
	network := func(addr, name, typ string, cfg map[string]string) spec.Network {
		return spec.Network{Meta: spec.Meta{Addr: "network." + addr}, Name: name, Type: typ, Config: cfg}
	}
	want := d.Remote()
	want.Networks = []spec.Network{
		network("plain", plain, "", map[string]string{"ipv4.address": gw(plainNet), "ipv6.address": "none"}),
		// An uplink an OVN network may use: the refusal is then about OVN itself.
		network("uplink", uplink, "", map[string]string{"ipv4.address": gw(upNet), "ipv6.address": "none",
			"ipv4.dhcp.ranges": sandbox.HostIP(upNet, 10) + "-" + sandbox.HostIP(upNet, 50),
			"ipv4.ovn.ranges":  sandbox.HostIP(upNet, 100) + "-" + sandbox.HostIP(upNet, 120)}),
	}
	converge(t, r, &want, s)

	want.Networks[0].Config = mergeMaps(want.Networks[0].Config, greKeys)
	want.Networks = append(want.Networks,
		network("gre", gre, "", mergeMaps(map[string]string{"ipv4.address": "none", "ipv6.address": "none"}, greKeys)),
		// The underlay is a subnet the host has an address in (the plain
		// bridge's): LXD gets as far as the fan device.
		network("fan", fan, "", map[string]string{"bridge.mode": "fan", "fan.underlay_subnet": plainNet}),
		network("ovn", ovn, "ovn", map[string]string{"network": uplink, "ipv4.address": gw(ovnNet), "ipv4.nat": "true", "ipv6.address": "none"}),
	)
	profile := sandbox.UniqueName(t, "hfp")
	want.Profiles = []spec.Profile{{Meta: spec.Meta{Addr: "profile.p"}, Name: profile}}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := engine.Apply(ctx, r, lxdPlan(t, r, &want, s), engine.ApplyOptions{})
	if err == nil {
		t.Fatal("apply succeeded: this host has gretap, fan-map or OVN after all")
	}
	t.Logf("apply (%s): %v", time.Since(start).Round(time.Millisecond), err)
	wantFailed := map[string][]string{
		plain: {"GRE tunnels", "gretap", "module ip_gre", `protocol "vxlan"`},
		gre:   {"GRE tunnels", "gretap", "module ip_gre", "LXD kept nothing of the network"},
		fan:   {"fan networking", "fan-map", "VXLAN tunnels", "LXD kept nothing of the network"},
		ovn:   {"OVN networks", "running OVN", "network.ovn.northbound_connection", "LXD kept nothing of the network"},
	}
	for _, f := range res.Failed {
		name := f.Change.Network.Name
		var hf *engine.HostFeatureError
		if !errors.As(f.Err, &hf) {
			t.Errorf("%s: %v, want a host feature error", f.Change.Addr, f.Err)
			continue
		}
		for _, s := range append(wantFailed[name], `remote "`+d.Remote().Name+`" (LXD 5.0.2)`) {
			if !strings.Contains(f.Err.Error(), s) {
				t.Errorf("%s: the error does not say %q:\n%v", f.Change.Addr, s, f.Err)
			}
		}
		delete(wantFailed, name)
	}
	if len(wantFailed) != 0 || len(res.NotDone) != 0 || len(res.Done) != 1 || res.Done[0].Change.Addr.String() != "profile."+profile {
		t.Errorf("failed: missing %v; done %d, not done %d: want only the profile done", slices.Sorted(mapsKeys(wantFailed)), len(res.Done), len(res.NotDone))
	}

	// Nothing half-created: no new network, and the existing bridge as it was.
	for _, name := range []string{gre, fan, ovn} {
		if _, err := r.GetNetwork(ctx, name); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("network %s after its failed create: %v", name, err)
		}
	}
	if n, err := r.GetNetwork(ctx, plain); err != nil || n.Status != "Created" || n.Config["tunnel.t.protocol"] != "" {
		t.Errorf("bridge %s after the failed GRE update: %v %s %v", plain, err, n.Status, n.Config)
	}
	if _, err := r.GetProfile(ctx, profile); err != nil {
		t.Errorf("profile %s of the same apply: %v", profile, err)
	}
	got := describe(lxdPlan(t, r, &want, s))
	var changes []string
	for k := range got {
		changes = append(changes, k)
	}
	slices.Sort(changes)
	wantChanges := []string{"+ network." + fan, "+ network." + gre, "+ network." + ovn, "~ network." + plain}
	slices.Sort(wantChanges)
	if !slices.Equal(changes, wantChanges) {
		t.Errorf("next plan %v, want %v", changes, wantChanges)
	}
}

func mergeMaps(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func mapsKeys(m map[string][]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
