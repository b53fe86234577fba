package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/enginetest"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// FuzzPlanConverges drives normalization and diff (normalize.go, diff.go)
// with arbitrary values where configurations put them: a network and a
// profile config value, a device property, a description, a forward's
// ports. For whatever the planner accepts and the fake LXD stores, one
// apply must converge: the next plan is empty (a value LXD stores
// differently from how it was written must still compare equal, or the
// daemon would rewrite it every pass). Planning twice from one observation
// gives the same changes. The seeds run with plain `go test`; corpus
// entries found by `go test -fuzz FuzzPlanConverges` land in
// testdata/fuzz/FuzzPlanConverges.
func FuzzPlanConverges(f *testing.F) {
	f.Add("ipv4.nat", "true", "limits.memory", "64MiB", "nat", "false", "web", "80", "8080", "tcp")
	f.Add("ipv4.address", "auto", "security.nesting", "yes", "bind", "host", "", "80,443", "", "udp")
	f.Add("ipv6.address", "none", "limits.cpu", "1.0", "proxy_protocol", "0", "é\x00", "1000-1010", "2000-2010", "")
	f.Add("dns.domain", " x ", "user.a", "", "security.uid", "0", "d", " 80 ", "81", "tcp")
	f.Fuzz(func(t *testing.T, netKey, netVal, profKey, profVal, devKey, devVal, desc, listenPort, targetPort, proto string) {
		if strings.Contains(netKey, ",") || strings.Contains(profKey, ",") {
			return // config refuses such keys: they cannot be listed in user.lxnetd.keys
		}
		d := &spec.Remote{
			Name: "local",
			Networks: []spec.Network{{Meta: spec.Meta{Addr: "network.br0"}, Name: "br0", Type: "bridge", Description: desc,
				Config: map[string]string{"ipv4.address": "10.231.1.1/24", netKey: netVal}}},
			Profiles: []spec.Profile{{Meta: spec.Meta{Addr: "profile.web"}, Name: "web", Description: desc,
				Config: map[string]string{profKey: profVal},
				Devices: map[string]spec.Device{
					"eth0": {"type": "nic", "network": "br0", "name": "eth0"},
					"p":    {"type": "proxy", "listen": "tcp:0.0.0.0:8080", "connect": "tcp:127.0.0.1:80", devKey: devVal},
				}}},
			Instances: []spec.Instance{{Meta: spec.Meta{Addr: "node.web1"}, Name: "web1", Image: "busybox", Description: desc,
				Profiles: []string{"default", "web"},
				Devices:  map[string]spec.Device{"eth0": {"type": "nic", "network": "br0", "ipv4.address": "10.231.1.10"}},
				IPv4:     "10.231.1.10", NIC: "eth0", Network: "br0"}},
			Exposures: []spec.Exposure{{Service: "web", Port: "p", Addr: `service.web.port["p"]`, Instance: "web1", Network: "br0",
				TargetAddress: "10.231.1.10", Protocol: proto, ListenAddress: "198.51.100.10", ListenPort: listenPort,
				TargetPort: targetPort, Via: spec.ViaForward}},
		}
		s := spec.Settings{Owner: "fuzz", MaxDeletes: 100}
		fake := enginetest.New("local")
		ctx := context.Background()
		p, err := engine.NewPlan(ctx, fake, d, s, engine.PlanOptions{})
		if err != nil {
			return // refused by the planner: fine, it said why
		}
		again, err := engine.NewPlan(ctx, fake, d, s, engine.PlanOptions{})
		if err != nil || len(again.Changes) != len(p.Changes) {
			t.Fatalf("planning twice differs: %d vs %d changes (%v)", len(p.Changes), len(again.Changes), err)
		}
		for i := range p.Changes {
			if p.Changes[i].Addr != again.Changes[i].Addr || p.Changes[i].Action != again.Changes[i].Action {
				t.Fatalf("planning twice differs at %d: %v %v vs %v %v", i, p.Changes[i].Action, p.Changes[i].Addr, again.Changes[i].Action, again.Changes[i].Addr)
			}
		}
		if _, err := engine.Apply(ctx, fake, p, engine.ApplyOptions{Parallelism: 1}); err != nil {
			return // refused by the (fake) server: the daemon reports it
		}
		next, err := engine.NewPlan(ctx, fake, d, s, engine.PlanOptions{})
		if err != nil {
			t.Fatalf("plan after a successful apply: %v", err)
		}
		for _, c := range next.Changes {
			t.Errorf("after apply, still planned: %s %s %+v", c.Action, c.Addr, c.Diffs)
		}
	})
}
