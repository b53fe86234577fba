package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/enginetest"
	"github.com/lxnetd/lxnetd/engine/spec"
)

var settings = spec.Settings{Owner: "test"}

// web is a small configuration: a bridge, a profile, a node with a static
// address, a forward service and a proxy service.
func web() *spec.Remote {
	return &spec.Remote{
		Name: "local",
		Networks: []spec.Network{{
			Meta: spec.Meta{Addr: "network.br0"}, Name: "br0", Type: "bridge",
			Config: map[string]string{"ipv4.address": "10.231.1.1/24", "ipv4.nat": "true"},
		}},
		Profiles: []spec.Profile{{
			Meta: spec.Meta{Addr: "profile.web"}, Name: "web",
			Config:  map[string]string{"limits.memory": "64MiB"},
			Devices: map[string]spec.Device{"eth0": {"type": "nic", "network": "br0", "name": "eth0"}},
		}},
		Instances: []spec.Instance{{
			Meta: spec.Meta{Addr: "node.web1"}, Name: "web1", Image: "busybox",
			Profiles: []string{"default", "web"},
			Devices:  map[string]spec.Device{"eth0": {"type": "nic", "network": "br0", "ipv4.address": "10.231.1.10"}},
			IPv4:     "10.231.1.10", NIC: "eth0", Network: "br0",
		}},
		Exposures: []spec.Exposure{
			{Service: "web", Port: "http", Addr: `service.web.port["http"]`, Instance: "web1", Network: "br0",
				TargetAddress: "10.231.1.10", Protocol: "tcp", ListenAddress: "198.51.100.10", ListenPort: "80", TargetPort: "80", Via: spec.ViaForward},
			{Service: "web", Port: "https", Addr: `service.web.port["https"]`, Instance: "web1", Network: "br0",
				TargetAddress: "10.231.1.10", Protocol: "tcp", ListenAddress: "198.51.100.10", ListenPort: "443", Via: spec.ViaForward},
			{Service: "admin", Port: "ui", Addr: `service.admin.port["ui"]`, Instance: "web1",
				Protocol: "tcp", ListenAddress: "0.0.0.0", ListenPort: "8080", TargetPort: "80", Via: spec.ViaProxy, ProxyProtocol: true},
		},
	}
}

func plan(t *testing.T, r engine.Remote, d *spec.Remote, s spec.Settings, targets ...string) *engine.Plan {
	t.Helper()
	p, err := engine.NewPlan(context.Background(), r, d, s, engine.PlanOptions{Targets: targets})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}

func apply(t *testing.T, r engine.Remote, p *engine.Plan) *engine.Result {
	t.Helper()
	res, err := engine.Apply(context.Background(), r, p, engine.ApplyOptions{})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return res
}

func addrs(p *engine.Plan) []string {
	var out []string
	for _, c := range p.Changes {
		out = append(out, c.Action.Symbol()+" "+c.Addr.String())
	}
	return out
}

func diffKeys(c *engine.Change) []string {
	var out []string
	for _, d := range c.Diffs {
		s := d.Key + ": "
		if d.Before != nil {
			s += fmt.Sprintf("%q", *d.Before)
		} else {
			s += "-"
		}
		s += " → "
		if d.After != nil {
			s += fmt.Sprintf("%q", *d.After)
		} else {
			s += "-"
		}
		out = append(out, s)
	}
	return out
}

func TestCreateThenNoChanges(t *testing.T) {
	f := enginetest.New("local")
	p := plan(t, f, web(), settings)
	want := []string{"+ network.br0", "+ profile.web", "+ node.web1", "+ forward.br0/198.51.100.10"}
	if d := cmp.Diff(want, addrs(p)); d != "" {
		t.Fatalf("changes (-want +got):\n%s", d)
	}
	if s := p.Summary(); s != (engine.Summary{Create: 4}) {
		t.Fatalf("summary %+v", s)
	}
	apply(t, f, p)
	wantWrites := []string{"create-network br0", "create-profile web", "create-instance web1", "start-instance web1", "create-forward br0/198.51.100.10"}
	if d := cmp.Diff(wantWrites, f.Writes); d != "" {
		t.Fatalf("writes (-want +got):\n%s", d)
	}
	inst := f.Instances["web1"]
	if d := cmp.Diff(map[string]string{
		"type": "proxy", "listen": "tcp:0.0.0.0:8080", "connect": "tcp:127.0.0.1:80", "proxy_protocol": "true",
	}, inst.Devices["lxnetd-admin-ui"]); d != "" {
		t.Errorf("proxy device (-want +got):\n%s", d)
	}
	if inst.Config[engine.TagOwner] != "test" || inst.Config[engine.TagDevices] != "eth0,lxnetd-admin-ui" {
		t.Errorf("instance tags: %v", inst.Config)
	}
	fw := f.Forwards["br0"]["198.51.100.10"]
	if len(fw.Ports) != 2 || fw.Config[engine.TagOwner] != "test" {
		t.Errorf("forward: %+v", fw)
	}
	again := plan(t, f, web(), settings)
	if !again.Empty() {
		t.Fatalf("second plan not empty: %v", addrs(again))
	}
	if again.Owned != 4 {
		t.Errorf("owned = %d, want 4", again.Owned)
	}
}

func TestNormalization(t *testing.T) {
	f := enginetest.New("local")
	d := web()
	d.Networks[0].Config["ipv4.address"] = "auto"
	d.Networks[0].Config["ipv4.nat"] = "yes"
	d.Exposures[2].ProxyProtocol = false
	apply(t, f, plan(t, f, d, settings))
	// LXD filled the address in and stores values as sent; someone spells
	// a bool differently and adds a default device property by hand.
	n := f.Networks["br0"]
	n.Config["ipv4.nat"] = "true"
	n.Config["volatile.bridge.host"] = "x"
	f.Networks["br0"] = n
	i := f.Instances["web1"]
	i.Devices["lxnetd-admin-ui"]["nat"] = "false"
	i.Devices["lxnetd-admin-ui"]["bind"] = "host"
	f.Instances["web1"] = i
	if p := plan(t, f, d, settings); !p.Empty() {
		t.Fatalf("plan not empty: %v %v", addrs(p), diffKeys(p.Changes[0]))
	}
}

func TestUnownedIsAnErrorUnlessAdopted(t *testing.T) {
	f := enginetest.New("local")
	f.Networks["br0"] = engine.Network{Name: "br0", Type: "bridge", Managed: true, ETag: "e",
		Config: map[string]string{"ipv4.address": "10.231.1.1/24", "ipv4.nat": "false", "dns.domain": "hand"}}
	d := web()
	d.Networks[0].Pos = spec.Pos{File: "net.hcl", Line: 3, Column: 1}
	_, err := engine.NewPlan(context.Background(), f, d, settings, engine.PlanOptions{})
	var pe *engine.PlanError
	if !errors.As(err, &pe) || len(pe.Problems) != 1 {
		t.Fatalf("want one problem, got %v", err)
	}
	msg := pe.Error()
	for _, s := range []string{`net.hcl:3,1`, `network "br0" already exists`, "not managed by lxnetd", "adopt = true to network.br0"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q lacks %q", msg, s)
		}
	}

	d.Networks[0].Adopt = true
	p := plan(t, f, d, settings)
	if got := diffKeys(p.Changes[0]); !cmp.Equal(got, []string{
		`config.ipv4.nat: "false" → "true"`,
		`config.user.lxnetd.keys: - → "ipv4.address,ipv4.nat"`,
		`config.user.lxnetd.owner: - → "test"`,
	}) {
		t.Fatalf("adopt diffs: %q", got)
	}
	apply(t, f, p)
	if got := f.Networks["br0"].Config["dns.domain"]; got != "hand" {
		t.Errorf("unowned key changed: %q", got)
	}
	// Dropping a key lxnetd set unsets it; a key it never set stays.
	delete(d.Networks[0].Config, "ipv4.nat")
	p = plan(t, f, d, settings)
	if got := diffKeys(p.Changes[0]); !cmp.Equal(got, []string{
		`config.ipv4.nat: "true" → -`,
		`config.user.lxnetd.keys: "ipv4.address,ipv4.nat" → "ipv4.address"`,
	}) {
		t.Fatalf("unset diffs: %q", got)
	}
	apply(t, f, p)
	cfg := f.Networks["br0"].Config
	if _, ok := cfg["ipv4.nat"]; ok || cfg["dns.domain"] != "hand" {
		t.Errorf("config after unset: %v", cfg)
	}
}

func TestOtherOwnerIsNotOurs(t *testing.T) {
	f := enginetest.New("local")
	f.Profiles["web"] = engine.Profile{Name: "web", Config: map[string]string{engine.TagOwner: "edge-2"}}
	_, err := engine.NewPlan(context.Background(), f, web(), settings, engine.PlanOptions{})
	if err == nil || !strings.Contains(err.Error(), `owned by lxnetd owner "edge-2"`) {
		t.Fatalf("err = %v", err)
	}
	// And it is not pruned either.
	p := plan(t, f, &spec.Remote{Name: "local"}, settings)
	if !p.Empty() {
		t.Fatalf("plan touches another owner's profile: %v", addrs(p))
	}
}

func TestDriftIsRestored(t *testing.T) {
	f := enginetest.New("local")
	apply(t, f, plan(t, f, web(), settings))
	fw := f.Forwards["br0"]["198.51.100.10"]
	fw.Ports = fw.Ports[:1] // lxc network forward port remove
	f.Forwards["br0"]["198.51.100.10"] = fw
	i := f.Instances["web1"]
	delete(i.Devices, "lxnetd-admin-ui") // lxc config device remove
	i.Devices["mine"] = map[string]string{"type": "disk", "path": "/srv", "source": "/srv"}
	f.Instances["web1"] = i
	pr := f.Profiles["web"]
	pr.Config["limits.memory"] = "1GiB" // lxc profile set
	pr.Config["user.note"] = "hand"
	f.Profiles["web"] = pr

	p := plan(t, f, web(), settings)
	got := map[string][]string{}
	for _, c := range p.Changes {
		got[c.Action.Symbol()+" "+c.Addr.String()] = diffKeys(c)
	}
	want := map[string][]string{
		"~ profile.web": {`config.limits.memory: "1GiB" → "64MiB"`},
		"~ node.web1": {
			`devices.lxnetd-admin-ui.connect: - → "tcp:127.0.0.1:80"`,
			`devices.lxnetd-admin-ui.listen: - → "tcp:0.0.0.0:8080"`,
			`devices.lxnetd-admin-ui.proxy_protocol: - → "true"`,
			`devices.lxnetd-admin-ui.type: - → "proxy"`,
		},
		"~ forward.br0/198.51.100.10": {`ports.tcp/80: - → "10.231.1.10:80 (service.web.port[\"http\"])"`},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("drift (-want +got):\n%s", d)
	}
	apply(t, f, p)
	if p := plan(t, f, web(), settings); !p.Empty() {
		t.Fatalf("not restored: %v", addrs(p))
	}
	if f.Instances["web1"].Devices["mine"] == nil || f.Profiles["web"].Config["user.note"] != "hand" {
		t.Fatal("unowned device or key was touched")
	}
}

func TestPruneOrphansAndBlockers(t *testing.T) {
	f := enginetest.New("local")
	apply(t, f, plan(t, f, web(), settings))
	// An instance lxnetd does not manage uses the bridge.
	f.Instances["hand"] = engine.Instance{Name: "hand", Type: "container", Status: "Running", ETag: "h",
		Devices: map[string]map[string]string{"eth0": {"type": "nic", "network": "br0"}}}

	empty := &spec.Remote{Name: "local"}
	p := plan(t, f, empty, settings)
	if d := cmp.Diff([]string{"- forward.br0/198.51.100.10"}, addrs(p)); d != "" {
		t.Fatalf("prune (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"node.web1"}, p.Orphans); d != "" {
		t.Errorf("orphans: %s", d)
	}
	wantBlockers := []string{
		`network.br0 is not deleted: still used by instance "hand", which lxnetd does not manage, instance "web1" (orphaned; set delete_instances = true to delete it)`,
		`profile.web is not deleted: still used by instance "web1" (orphaned; set delete_instances = true to delete it)`,
	}
	if d := cmp.Diff(wantBlockers, p.Blockers); d != "" {
		t.Errorf("blockers (-want +got):\n%s", d)
	}
	// The observed users, by object (the profile too, though its own delete
	// would not block): what a daemon re-plans on when one changes.
	blockedBy := map[string][]string{}
	for obj, users := range p.BlockedBy {
		for _, u := range users {
			blockedBy[obj.String()] = append(blockedBy[obj.String()], u.String())
		}
		slices.Sort(blockedBy[obj.String()])
	}
	if d := cmp.Diff(map[string][]string{"network.br0": {"node.hand", "node.web1", "profile.web"}, "profile.web": {"node.web1"}}, blockedBy); d != "" {
		t.Errorf("blocked by (-want +got):\n%s", d)
	}
	if p.Deletes() != 1 || p.Owned != 4 {
		t.Errorf("deletes %d owned %d", p.Deletes(), p.Owned)
	}

	s := settings
	s.DeleteInstances = true
	delete(f.Instances, "hand")
	p = plan(t, f, empty, s)
	if d := cmp.Diff([]string{"- forward.br0/198.51.100.10", "- node.web1", "- profile.web", "- network.br0"}, addrs(p)); d != "" {
		t.Fatalf("prune with delete_instances (-want +got):\n%s", d)
	}
	apply(t, f, p)
	if len(f.Networks) != 0 || len(f.Instances) != 0 || len(f.Profiles) != 1 {
		t.Fatalf("left behind: %v %v %v", f.Networks, f.Instances, f.Profiles)
	}
}

func TestStaleETagIsRetried(t *testing.T) {
	f := enginetest.New("local")
	apply(t, f, plan(t, f, web(), settings))
	d := web()
	d.Profiles[0].Config["limits.memory"] = "128MiB"
	p := plan(t, f, d, settings)
	// Someone writes the profile between plan and apply.
	pr := f.Profiles["web"]
	pr.Config["user.other"] = "x"
	pr.ETag = "someone-else"
	f.Profiles["web"] = pr
	apply(t, f, p)
	got := f.Profiles["web"].Config
	if got["limits.memory"] != "128MiB" || got["user.other"] != "x" {
		t.Fatalf("after retry: %v", got)
	}
}

func TestFailureReportsDoneAndNotDone(t *testing.T) {
	f := enginetest.New("local")
	f.Fail = func(op, name string) error {
		if op == "create-instance" {
			return errors.New("boom")
		}
		return nil
	}
	p := plan(t, f, web(), settings)
	res, err := engine.Apply(context.Background(), f, p, engine.ApplyOptions{})
	// The forward needs only its network: it is written although the node failed.
	if err == nil || !strings.Contains(err.Error(), "3 done, 1 failed, 0 not done") || !strings.Contains(err.Error(), "creating node.web1: boom") {
		t.Fatalf("err = %v", err)
	}
	if len(res.Done) != 3 || len(res.Failed) != 1 || len(res.NotDone) != 0 {
		t.Fatalf("result: %+v", res)
	}
	// The next plan completes the rest.
	f.Fail = nil
	p = plan(t, f, web(), settings)
	if d := cmp.Diff([]string{"+ node.web1"}, addrs(p)); d != "" {
		t.Fatalf("resume (-want +got):\n%s", d)
	}
	apply(t, f, p)
	if !plan(t, f, web(), settings).Empty() {
		t.Fatal("not converged")
	}
}

func TestStoppedInstanceIsStarted(t *testing.T) {
	f := enginetest.New("local")
	f.Fail = func(op, name string) error {
		if op == "start-instance" {
			return errors.New("daemon went away")
		}
		return nil
	}
	_, err := engine.Apply(context.Background(), f, plan(t, f, web(), settings), engine.ApplyOptions{})
	if err == nil {
		t.Fatal("want error")
	}
	f.Fail = nil
	p := plan(t, f, web(), settings)
	var got []string
	for _, c := range p.Changes {
		if c.Addr.Kind == engine.KindNode {
			got = diffKeys(c)
		}
	}
	if d := cmp.Diff([]string{`state: "stopped" → "running"`}, got); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}

func TestTargets(t *testing.T) {
	f := enginetest.New("local")
	for target, want := range map[string][]string{
		"node.web1":     {"+ node.web1", "+ forward.br0/198.51.100.10"},
		"service.admin": {"+ node.web1"},
		"service.web":   {"+ forward.br0/198.51.100.10"},
		"network.br0":   {"+ network.br0"},
		"remote.local":  {"+ network.br0", "+ profile.web", "+ node.web1", "+ forward.br0/198.51.100.10"},
		"remote.other":  nil,
	} {
		if d := cmp.Diff(want, addrs(plan(t, f, web(), settings, target))); d != "" {
			t.Errorf("--target %s (-want +got):\n%s", target, d)
		}
	}
}

func TestNATNeedsStaticAddressAndConcreteListen(t *testing.T) {
	f := enginetest.New("local")
	d := web()
	d.Exposures = []spec.Exposure{{Service: "db", Port: "pg", Addr: `service.db.port["pg"]`, Instance: "web1",
		Protocol: "tcp", ListenAddress: "0.0.0.0", ListenPort: "5432", Via: spec.ViaNAT, Pos: spec.Pos{File: "db.hcl", Line: 4, Column: 3}}}
	_, err := engine.NewPlan(context.Background(), f, d, settings, engine.PlanOptions{})
	if err == nil || !strings.Contains(err.Error(), `db.hcl:4,3: via = "nat" needs a static address on node "web1"`) {
		t.Fatalf("err = %v", err)
	}
	d.Exposures[0].TargetAddress = "10.231.1.10"
	_, err = engine.NewPlan(context.Background(), f, d, settings, engine.PlanOptions{})
	if err == nil || !strings.Contains(err.Error(), "concrete listen address") {
		t.Fatalf("err = %v", err)
	}
	d.Exposures[0].ListenAddress = "198.51.100.20"
	p := plan(t, f, d, settings)
	dev := p.Changes[2].Instance.Devices["lxnetd-db-pg"]
	if d := cmp.Diff(map[string]string{"type": "proxy", "nat": "true", "listen": "tcp:198.51.100.20:5432", "connect": "tcp:10.231.1.10:5432"}, dev); d != "" {
		t.Fatalf("nat device (-want +got):\n%s", d)
	}
}

// A no-op plan costs four bulk reads plus one forward list per bridge,
// plus one image list because declared nodes exist, whatever the number of
// instances, profiles and forward ports.
func TestNoOpPlanRequestsAreBulk(t *testing.T) {
	for _, n := range []int{1, 200} {
		f := enginetest.New("local")
		d := web()
		for i := range n {
			d.Profiles = append(d.Profiles, spec.Profile{Meta: spec.Meta{Addr: fmt.Sprintf("profile.p%d", i)}, Name: fmt.Sprintf("p%d", i),
				Config: map[string]string{"user.n": fmt.Sprint(i)}})
			d.Instances = append(d.Instances, spec.Instance{Meta: spec.Meta{Addr: fmt.Sprintf("node.n%d", i)}, Name: fmt.Sprintf("n%d", i), Image: "busybox"})
			d.Forwards = append(d.Forwards, spec.Forward{Meta: spec.Meta{Addr: fmt.Sprintf("forward.f%d", i)}, Network: "br0",
				ListenAddress: fmt.Sprintf("198.51.100.%d", 20+i%200), Ports: []spec.ForwardPort{{ListenPort: fmt.Sprint(1000 + i), TargetAddress: "10.231.1.10"}}})
		}
		apply(t, f, plan(t, f, d, settings))
		p := plan(t, f, d, settings)
		if !p.Empty() || p.Requests != 6 || p.ForwardNetworks != 1 || !p.ImagesListed {
			t.Fatalf("n=%d: empty=%v requests=%d forwardNetworks=%d", n, p.Empty(), p.Requests, p.ForwardNetworks)
		}
	}
}

// A network deleted by someone else between the network list and its forward
// list is not an error: it simply has no forwards.
func TestNetworkVanishingDuringObserve(t *testing.T) {
	f := &vanishing{Fake: enginetest.New("local")}
	f.Networks["gone0"] = engine.Network{Name: "gone0", Type: "bridge", Managed: true, Config: map[string]string{}}
	p := plan(t, f, &spec.Remote{Name: "local"}, settings)
	if !p.Empty() || p.ForwardNetworks != 0 {
		t.Fatalf("plan: %v, forward networks %d", addrs(p), p.ForwardNetworks)
	}
}

type vanishing struct{ *enginetest.Fake }

func (v *vanishing) ListForwards(ctx context.Context, network string) ([]engine.Forward, error) {
	delete(v.Networks, network)
	return v.Fake.ListForwards(ctx, network)
}

// After a failure, changes that depend on the failed one are skipped (with
// the reason), and every independent change still runs; every failure is
// reported.
func TestIndependentChangesContinueAfterFailure(t *testing.T) {
	f := enginetest.New("local")
	d := web()
	for i := range 3 {
		d.Instances = append(d.Instances, spec.Instance{Meta: spec.Meta{Addr: fmt.Sprintf("node.x%d", i)}, Name: fmt.Sprintf("x%d", i), Image: "busybox"})
	}
	f.Fail = func(op, name string) error {
		if op == "create-network" || (op == "create-instance" && name == "x1") {
			return errors.New("boom " + name)
		}
		return nil
	}
	res, err := engine.Apply(context.Background(), f, plan(t, f, d, settings), engine.ApplyOptions{Parallelism: 1})
	if err == nil || !strings.Contains(err.Error(), "boom br0") || !strings.Contains(err.Error(), "boom x1") {
		t.Fatalf("want both failures in the error: %v", err)
	}
	var done, failed []string
	for _, cr := range res.Done {
		done = append(done, cr.Change.Addr.String())
	}
	for _, cr := range res.Failed {
		failed = append(failed, cr.Change.Addr.String())
	}
	skipped := map[string]string{}
	for _, s := range res.NotDone {
		skipped[s.Addr.String()] = s.Reason
	}
	if d := cmp.Diff([]string{"node.x0", "node.x2"}, done); d != "" {
		t.Errorf("done (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"network.br0", "node.x1"}, failed); d != "" {
		t.Errorf("failed (-want +got):\n%s", d)
	}
	want := map[string]string{
		"profile.web":               "it depends on network.br0, which failed",
		"node.web1":                 "it depends on network.br0, which failed",
		"forward.br0/198.51.100.10": "it depends on network.br0, which failed",
	}
	if d := cmp.Diff(want, skipped); d != "" {
		t.Errorf("skipped (-want +got):\n%s", d)
	}
}

// A delete of a network waits for the deletes of what used it: when the
// forward delete fails, the network is not deleted (LXD would refuse).
func TestDeleteAfterFailedDependencyIsSkipped(t *testing.T) {
	f := enginetest.New("local")
	apply(t, f, plan(t, f, web(), settings))
	f.Fail = func(op, name string) error {
		if op == "delete-forward" {
			return errors.New("boom")
		}
		return nil
	}
	s := settings
	s.AllowEmpty, s.DeleteInstances = true, true
	res, _ := engine.Apply(context.Background(), f, plan(t, f, &spec.Remote{Name: "local"}, s), engine.ApplyOptions{})
	var skipped []string
	for _, sk := range res.NotDone {
		skipped = append(skipped, sk.Addr.String()+": "+sk.Reason)
	}
	if d := cmp.Diff([]string{"network.br0: it depends on forward.br0/198.51.100.10, which failed"}, skipped); d != "" {
		t.Errorf("skipped (-want +got):\n%s", d)
	}
	if _, ok := f.Networks["br0"]; !ok {
		t.Error("network deleted although its forward could not be")
	}
}

// blockingRemote holds every forward create until released, recording the
// state of the context the write received.
type blockingRemote struct {
	*enginetest.Fake
	started  chan struct{}
	release  chan struct{}
	ctxErr   error
	finished bool
}

func (b *blockingRemote) CreateForward(ctx context.Context, fw engine.Forward) error {
	close(b.started)
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	b.ctxErr = ctx.Err()
	b.finished = true
	return b.Fake.CreateForward(ctx, fw)
}

// A cancelled apply lets the write in flight finish and starts nothing new;
// Abort cancels the write in flight too.
func TestInterruptLetsWriteInFlightFinish(t *testing.T) {
	for _, abort := range []bool{false, true} {
		t.Run(fmt.Sprint("abort=", abort), func(t *testing.T) {
			f := enginetest.New("local")
			d := web()
			d.Instances = nil
			d.Exposures = d.Exposures[:2]
			for i := range d.Exposures {
				d.Exposures[i].Instance = ""
			}
			b := &blockingRemote{Fake: f, started: make(chan struct{}), release: make(chan struct{})}
			p := plan(t, b, d, settings)
			// One more independent change after the forward: it must not start.
			p.Changes = append(p.Changes, &engine.Change{Addr: engine.Address{Kind: engine.KindNetwork, Name: "late"}, Action: engine.Delete,
				Network: &engine.Network{Name: "late"}})
			ctx, cancel := context.WithCancel(context.Background())
			abortCtx, abortNow := context.WithCancel(context.Background())
			defer abortNow()
			go func() {
				<-b.started
				cancel()
				if abort {
					abortNow()
				} else {
					close(b.release)
				}
			}()
			res, err := engine.Apply(ctx, b, p, engine.ApplyOptions{Abort: abortCtx})
			if err == nil {
				t.Fatal("an interrupted apply must report an error")
			}
			if !b.finished {
				t.Fatal("the write in flight did not finish")
			}
			if abort != (b.ctxErr != nil) {
				t.Errorf("write context error %v with abort=%v", b.ctxErr, abort)
			}
			if len(res.NotDone) != 1 || res.NotDone[0].Addr.Name != "late" || res.NotDone[0].Reason != "interrupted before it started" {
				t.Errorf("not done: %+v", res.NotDone)
			}
		})
	}
}

// A forward port that targets a node without an address in the
// configuration forwards to the address LXD lists for it: the reservation
// (ipv4.address) of one of its NICs, running or not.
func TestForwardTargetFromLiveState(t *testing.T) {
	f := enginetest.New("local")
	d := web()
	d.Instances[0].Devices = map[string]spec.Device{
		"eth0": {"type": "nic", "network": "br0", "ipv4.address": "fd42::1"}, // not IPv4: never a target
		"eth1": {"type": "nic", "network": "br0", "ipv4.address": "10.231.1.77"},
	}
	d.Instances[0].State = "stopped"
	apply(t, f, plan(t, f, d, settings))
	d.Forwards = []spec.Forward{{Meta: spec.Meta{Addr: "forward.live"}, Network: "br0", ListenAddress: "198.51.100.20",
		Ports: []spec.ForwardPort{{ListenPort: "22", TargetNode: "web1"}}}}
	p := plan(t, f, d, settings)
	if d := cmp.Diff([]string{"+ forward.br0/198.51.100.20"}, addrs(p)); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
	if got := p.Changes[0].Forward.Ports[0].TargetAddress; got != "10.231.1.77" {
		t.Fatalf("target = %q", got)
	}
	delete(f.Instances, "web1")
	_, err := engine.NewPlan(context.Background(), f, d, settings, engine.PlanOptions{})
	if err == nil || !strings.Contains(err.Error(), `node "web1" has no IPv4 address to forward to`) {
		t.Fatalf("err = %v", err)
	}
}

// A network whose type changes is replaced; while an instance lxnetd does not
// manage uses it, the replace is a blocker instead.
func TestNetworkTypeChangeIsReplace(t *testing.T) {
	f := enginetest.New("local")
	d := &spec.Remote{Name: "local", Networks: []spec.Network{{Meta: spec.Meta{Addr: "network.n"}, Name: "n0", Type: "bridge",
		Config: map[string]string{"ipv4.address": "10.231.2.1/24"}}}}
	apply(t, f, plan(t, f, d, settings))
	d.Networks[0].Type = "macvlan"
	d.Networks[0].Config = map[string]string{"parent": "eth0"}
	p := plan(t, f, d, settings)
	if len(p.Changes) != 1 || p.Changes[0].Action != engine.Replace || !strings.Contains(p.Changes[0].Reason, `type changes from "bridge" to "macvlan"`) {
		t.Fatalf("plan: %v %+v", addrs(p), p.Changes)
	}
	if s := p.Summary(); s != (engine.Summary{Replace: 1}) || p.Deletes() != 1 {
		t.Fatalf("summary %+v deletes %d", s, p.Deletes())
	}
	f.Instances["hand"] = engine.Instance{Name: "hand", Devices: map[string]map[string]string{"eth0": {"type": "nic", "network": "n0"}}}
	p = plan(t, f, d, settings)
	if !p.Empty() || len(p.Blockers) != 1 || !strings.Contains(p.Blockers[0], "network.n0 is not replaced") {
		t.Fatalf("blocked replace: %v %q", addrs(p), p.Blockers)
	}
	delete(f.Instances, "hand")
	apply(t, f, plan(t, f, d, settings))
	if n := f.Networks["n0"]; n.Type != "macvlan" || n.Config["parent"] != "eth0" {
		t.Fatalf("after replace: %+v", n)
	}
}

// A node whose target (cluster member) is not where the instance is gets
// recreated there with delete_instances, and is a blocked replace without it.
func TestTargetChangeIsReplace(t *testing.T) {
	f := enginetest.New("local")
	d := &spec.Remote{Name: "local", Instances: []spec.Instance{{Meta: spec.Meta{Addr: "node.n"}, Name: "n1", Image: "busybox", Target: "m1", State: "stopped"}}}
	apply(t, f, plan(t, f, d, settings))
	if got := f.Instances["n1"].Location; got != "m1" {
		t.Fatalf("created on %q, want m1", got)
	}
	if p := plan(t, f, d, settings); !p.Empty() {
		t.Fatalf("second plan: %v", addrs(p))
	}
	d.Instances[0].Target = "m2"
	if p := plan(t, f, d, settings); !p.Empty() || len(p.Blockers) != 1 || !strings.Contains(p.Blockers[0], `node.n is not replaced: target changes from "m1" to "m2"`) {
		t.Fatalf("target change without delete_instances: %v %q", addrs(p), p.Blockers)
	}
	s := settings
	s.DeleteInstances = true
	p := plan(t, f, d, s)
	if len(p.Changes) != 1 || p.Changes[0].Action != engine.Replace || !strings.Contains(p.Changes[0].Reason, `target changes from "m1" to "m2"`) {
		t.Fatalf("plan: %v %+v", addrs(p), p.Changes)
	}
	apply(t, f, p)
	if got := f.Instances["n1"].Location; got != "m2" {
		t.Fatalf("after replace on %q, want m2", got)
	}
	// No target: wherever LXD put it is fine.
	d.Instances[0].Target = ""
	if p := plan(t, f, d, s); !p.Empty() {
		t.Fatalf("plan without a target: %v", addrs(p))
	}
}

// A for_each'd service whose LXD-facing name differs from its block label
// is named by its configuration address in plans, and --target on the block
// selects it.
func TestServiceSourceIsConfigAddress(t *testing.T) {
	f := enginetest.New("local")
	d := web()
	for i := range d.Exposures {
		d.Exposures[i].Addr = `service.site["a"].port["` + d.Exposures[i].Port + `"]`
		d.Exposures[i].Service = "a"
		d.Exposures[i].ServiceAddr = `service.site["a"]`
	}
	p := plan(t, f, d, settings, "service.site")
	if len(p.Changes) == 0 {
		t.Fatal("--target service.site selected nothing")
	}
	for _, c := range p.Changes {
		for _, s := range c.Sources {
			if strings.HasPrefix(s, "service.") && s != `service.site["a"]` {
				t.Errorf("%s has source %q, want service.site[\"a\"]", c.Addr, s)
			}
		}
	}
}

// A targeted network delete whose users are not targeted is a blocker,
// never a write LXD would refuse.
func TestTargetedDeleteKeepsUsersAsBlockers(t *testing.T) {
	f := enginetest.New("local")
	apply(t, f, plan(t, f, web(), settings))
	s := settings
	s.DeleteInstances = true
	p := plan(t, f, &spec.Remote{Name: "local"}, s, "network.br0")
	if len(p.Changes) != 0 || len(p.Blockers) != 1 || !strings.Contains(p.Blockers[0], "network.br0 is not deleted") {
		t.Fatalf("changes %v, blockers %q", addrs(p), p.Blockers)
	}
}

// A node that can no longer start (LXD lost its storage, issue 13) fails
// its own change in every apply, and never holds back the rest: a new node
// and the new port of the forward it shares with the broken node's
// service are created in the same apply.
func TestBrokenNodeBlocksNothingElse(t *testing.T) {
	f := enginetest.New("local")
	apply(t, f, plan(t, f, web(), settings))
	i := f.Instances["web1"]
	i.Status = "Stopped"
	f.Instances["web1"] = i
	f.Fail = func(op, name string) error {
		if name == "web1" {
			return errors.New(`Failed to handle idmapped storage: No such file or directory: "/var/lib/lxd/storage-pools/default/containers/web1/rootfs"`)
		}
		return nil
	}
	d := web()
	d.Instances = append(d.Instances, spec.Instance{Meta: spec.Meta{Addr: "node.web2"}, Name: "web2", Image: "busybox",
		Devices: map[string]spec.Device{"eth0": {"type": "nic", "network": "br0", "ipv4.address": "10.231.1.11"}},
		IPv4:    "10.231.1.11", NIC: "eth0", Network: "br0"})
	d.Exposures = append(d.Exposures, spec.Exposure{Service: "web2", Port: "http", Addr: `service.web2.port["http"]`, Instance: "web2",
		Network: "br0", TargetAddress: "10.231.1.11", Protocol: "tcp", ListenAddress: "198.51.100.10", ListenPort: "8081",
		TargetPort: "80", Via: spec.ViaForward})
	for pass := range 2 { // the daemon retries: every pass the same
		res, err := engine.Apply(context.Background(), f, plan(t, f, d, settings), engine.ApplyOptions{Parallelism: 1})
		if err == nil || !strings.Contains(err.Error(), "idmapped storage") {
			t.Fatalf("pass %d: err = %v", pass, err)
		}
		if len(res.Failed) != 1 || res.Failed[0].Change.Addr.String() != "node.web1" || len(res.NotDone) != 0 {
			t.Fatalf("pass %d: failed %v, not done %v", pass, res.Failed, res.NotDone)
		}
	}
	if _, ok := f.Instances["web2"]; !ok {
		t.Error("node web2 was not created")
	}
	fw := f.Forwards["br0"]["198.51.100.10"]
	found := false
	for _, p := range fw.Ports {
		found = found || p.ListenPort == "8081" && p.TargetAddress == "10.231.1.11"
	}
	if !found {
		t.Errorf("the forward's new port to web2 is missing: %+v", fw.Ports)
	}
}
