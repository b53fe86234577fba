//go:build integration

package engine_test

// Engine tests against the sandbox's real LXD (make sandbox-up). They fail,
// never skip, when LXD is not there. Each test names its objects uniquely and
// uses its own owner tag, so tests sharing the daemon never prune each other.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/lxnetd/lxnetd/internal/lxd"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

func connect(t testing.TB, r spec.Remote) *lxd.Remote {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := lxd.Connect(ctx, &r)
	if err != nil {
		t.Fatalf("connecting to %s: %v", r.Address, err)
	}
	t.Cleanup(c.Close)
	return c
}

func lxdPlan(t *testing.T, r engine.Remote, d *spec.Remote, s spec.Settings) *engine.Plan {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := engine.NewPlan(ctx, r, d, s, engine.PlanOptions{})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}

func lxdApply(t *testing.T, r engine.Remote, p *engine.Plan) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := engine.Apply(ctx, r, p, engine.ApplyOptions{}); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

// converge applies desired and checks that a second plan is empty.
func converge(t *testing.T, r engine.Remote, d *spec.Remote, s spec.Settings) {
	t.Helper()
	lxdApply(t, r, lxdPlan(t, r, d, s))
	if p := lxdPlan(t, r, d, s); !p.Empty() {
		t.Fatalf("plan after apply is not empty: %v", describe(p))
	}
}

// removeAll prunes everything the owner has, in Cleanup, even if the test failed.
func removeAll(t *testing.T, r engine.Remote, owner string) {
	t.Cleanup(func() {
		s := spec.Settings{Owner: owner, DeleteInstances: true}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		p, err := engine.NewPlan(ctx, r, &spec.Remote{Name: r.Name()}, s, engine.PlanOptions{})
		if err != nil {
			t.Errorf("cleanup plan: %v", err)
			return
		}
		if _, err := engine.Apply(ctx, r, p, engine.ApplyOptions{}); err != nil {
			t.Errorf("cleanup apply: %v", err)
		}
	})
}

func describe(p *engine.Plan) map[string][]string {
	out := map[string][]string{}
	for _, c := range p.Changes {
		out[c.Action.Symbol()+" "+c.Addr.String()] = diffKeys(c)
	}
	return out
}

// query returns the JSON of an LXD API path, decoded.
func query(t *testing.T, d *sandbox.Daemon, path string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(d.Lxc(t, "query", path)), &v); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	return v
}

// webRemote: a bridge, a profile, a node with a static address, a forward
// service on a floating IP and a proxy service. On LXD the proxy listens on
// the forward's address too; Incus refuses a forward and a proxy device on
// one listen address (README "Servers"), so there it gets one of its own.
func webRemote(t *testing.T, d *sandbox.Daemon, bridge, prefix, subnet, fip string) (r *spec.Remote, proxyIP string) {
	proxyIP = fip
	if d.Kind == sandbox.KindIncus {
		proxyIP = sandbox.FloatingIP(t)
	}
	rem := d.Remote()
	r = &rem
	base := strings.TrimSuffix(subnet, "0/24")
	r.Networks = []spec.Network{{Meta: spec.Meta{Addr: "network.lan"}, Name: bridge, Type: "bridge",
		Config: map[string]string{"ipv4.address": base + "1/24", "ipv4.nat": "true", "ipv6.address": "none"}}}
	r.Profiles = []spec.Profile{{Meta: spec.Meta{Addr: "profile.web"}, Name: prefix + "-web",
		Config: map[string]string{"limits.memory": "64MiB"}}}
	r.Instances = []spec.Instance{{Meta: spec.Meta{Addr: "node.web"}, Name: prefix + "-web", Image: "busybox",
		Profiles: []string{"default", prefix + "-web"},
		Devices:  map[string]spec.Device{"eth0": {"type": "nic", "network": bridge, "name": "eth0", "ipv4.address": base + "10"}},
		IPv4:     base + "10", NIC: "eth0", Network: bridge}}
	r.Exposures = []spec.Exposure{
		{Service: "web", Port: "http", Addr: `service.web.port["http"]`, Instance: prefix + "-web", Network: bridge,
			TargetAddress: base + "10", Protocol: "tcp", ListenAddress: fip, ListenPort: "80", TargetPort: "80", Via: spec.ViaForward},
		{Service: "web", Port: "alt", Addr: `service.web.port["alt"]`, Instance: prefix + "-web", Network: bridge,
			TargetAddress: base + "10", Protocol: "tcp", ListenAddress: fip, ListenPort: "8080", TargetPort: "80", Via: spec.ViaForward},
		{Service: "admin", Port: "ui", Addr: `service.admin.port["ui"]`, Instance: prefix + "-web",
			Protocol: "tcp", ListenAddress: proxyIP, ListenPort: "8081", TargetPort: "80", Via: spec.ViaProxy},
	}
	return r, proxyIP
}

// TestLXDDriftIsShownAndRestored: hand-made changes with lxc show in the plan
// as the exact key-level difference, and apply puts them back.
func TestLXDDriftIsShownAndRestored(t *testing.T) {
	for _, d := range sandbox.Servers(t) {
		t.Run(d.Kind, func(t *testing.T) {
			t.Parallel()
			testLXDDriftIsShownAndRestored(t, d)
		})
	}
}

func testLXDDriftIsShownAndRestored(t *testing.T, d *sandbox.Daemon) {
	r := connect(t, d.Remote())
	bridge, prefix := sandbox.UniqueName(t, "lxd"), sandbox.UniqueName(t, "dr")
	subnet, fip := sandbox.AllocSubnet(t), sandbox.FloatingIP(t)
	s := spec.Settings{Owner: "t-" + prefix}
	removeAll(t, r, s.Owner)
	want, proxyIP := webRemote(t, d, bridge, prefix, subnet, fip)
	converge(t, r, want, s)
	node := prefix + "-web"
	for _, url := range []string{"http://" + fip + "/", "http://" + fip + ":8080/", "http://" + proxyIP + ":8081/"} {
		if body := sandbox.HTTPGet(t, url, 30*time.Second); !strings.Contains(body, node) {
			t.Fatalf("%s: page does not name %s: %q", url, node, body)
		}
	}

	d.Lxc(t, "network", "forward", "port", "remove", bridge, fip, "tcp", "80")
	d.Lxc(t, "config", "device", "remove", node, "lxnetd-admin-ui")
	d.Lxc(t, "profile", "set", prefix+"-web", "limits.memory", "1GiB")

	base := strings.TrimSuffix(subnet, "0/24")
	p := lxdPlan(t, r, want, s)
	wantDiff := map[string][]string{
		"~ profile." + prefix + "-web": {`config.limits.memory: "1GiB" → "64MiB"`},
		"~ node." + node: {
			`devices.lxnetd-admin-ui.connect: - → "tcp:127.0.0.1:80"`,
			fmt.Sprintf(`devices.lxnetd-admin-ui.listen: - → "tcp:%s:8081"`, proxyIP),
			`devices.lxnetd-admin-ui.type: - → "proxy"`,
		},
		fmt.Sprintf("~ forward.%s/%s", bridge, fip): {fmt.Sprintf(`ports.tcp/80: - → "%s10:80 (service.web.port[\"http\"])"`, base)},
	}
	if diff := cmp.Diff(wantDiff, describe(p)); diff != "" {
		t.Fatalf("drift plan (-want +got):\n%s", diff)
	}
	lxdApply(t, r, p)
	if p := lxdPlan(t, r, want, s); !p.Empty() {
		t.Fatalf("drift not restored: %v", describe(p))
	}
	if body := sandbox.HTTPGet(t, "http://"+fip+"/", 30*time.Second); !strings.Contains(body, node) {
		t.Fatalf("restored forward port does not reach %s: %q", node, body)
	}
}

// TestLXDUnownedObjectsAreUntouched: a network, an instance, a profile key, a
// profile device and an instance device made with lxc are byte for byte the
// same after apply and after prune.
func TestLXDUnownedObjectsAreUntouched(t *testing.T) {
	for _, d := range sandbox.Servers(t) {
		t.Run(d.Kind, func(t *testing.T) {
			t.Parallel()
			testLXDUnownedObjectsAreUntouched(t, d)
		})
	}
}

func testLXDUnownedObjectsAreUntouched(t *testing.T, d *sandbox.Daemon) {
	r := connect(t, d.Remote())
	prefix := sandbox.UniqueName(t, "un")
	bridge := sandbox.UniqueName(t, "lxu")
	subnet := d.CreateBridge(t, bridge)
	base := strings.TrimSuffix(subnet, "0/24")
	hand := prefix + "-hand"
	d.LaunchBusybox(t, hand, bridge, base+"20")
	prof := prefix + "-p"
	d.Lxc(t, "profile", "create", prof)
	t.Cleanup(func() { _, _ = d.LxcErr("profile", "delete", prof) })
	d.Lxc(t, "profile", "set", prof, "user.hand", "yes")
	d.Lxc(t, "profile", "device", "add", prof, "handdisk", "disk", "source=/tmp", "path=/mnt/hand")
	fip := sandbox.FloatingIP(t)
	s := spec.Settings{Owner: "t-" + prefix}
	removeAll(t, r, s.Owner)

	netShow := d.Lxc(t, "network", "show", bridge)
	handShow := d.Lxc(t, "config", "show", hand)
	unownedProfile := func() string {
		p := query(t, d, "/1.0/profiles/"+prof)
		cfg := p["config"].(map[string]any)
		devs := p["devices"].(map[string]any)
		b, _ := json.Marshal([]any{cfg["user.hand"], devs["handdisk"], p["description"]})
		return string(b)
	}
	profBefore := unownedProfile()

	node := prefix + "-web"
	want := d.Remote()
	want.Profiles = []spec.Profile{{Meta: spec.Meta{Addr: "profile.p", Adopt: true}, Name: prof,
		Config:  map[string]string{"limits.memory": "64MiB"},
		Devices: map[string]spec.Device{"lx": {"type": "disk", "source": "/tmp", "path": "/mnt/lx"}}}}
	want.Instances = []spec.Instance{{Meta: spec.Meta{Addr: "node.web"}, Name: node, Image: "busybox",
		Devices: map[string]spec.Device{"eth0": {"type": "nic", "network": bridge, "name": "eth0", "ipv4.address": base + "10"}},
		IPv4:    base + "10", NIC: "eth0", Network: bridge}}
	want.Exposures = []spec.Exposure{{Service: "web", Port: "http", Addr: `service.web.port["http"]`, Instance: node, Network: bridge,
		TargetAddress: base + "10", Protocol: "tcp", ListenAddress: fip, ListenPort: "80", Via: spec.ViaForward}}
	// A forward on a bridge lxnetd does not own, to an instance it does not own.
	want.Forwards = []spec.Forward{{Meta: spec.Meta{Addr: "forward.hand"}, Network: bridge, ListenAddress: fip,
		Ports: []spec.ForwardPort{{ListenPort: "8080", TargetAddress: base + "20", TargetPort: "80"}}}}

	// Without adopt the unowned profile is a plan error naming the fix.
	want.Profiles[0].Adopt = false
	_, err := engine.NewPlan(context.Background(), r, &want, s, engine.PlanOptions{})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf(`profile %q already exists`, prof)) || !strings.Contains(err.Error(), "adopt = true to profile.p") {
		t.Fatalf("plan over an unowned profile: err = %v", err)
	}
	want.Profiles[0].Adopt = true

	converge(t, r, &want, s)
	if body := sandbox.HTTPGet(t, "http://"+fip+":8080/", 30*time.Second); !strings.Contains(body, hand) {
		t.Fatalf("forward to the unowned instance: %q", body)
	}
	if body := sandbox.HTTPGet(t, "http://"+fip+"/", 30*time.Second); !strings.Contains(body, node) {
		t.Fatalf("forward to the owned instance: %q", body)
	}
	// A device added by hand to an owned node is not lxnetd's: no change.
	d.Lxc(t, "config", "device", "add", node, "handdev", "disk", "source=/tmp", "path=/mnt/handdev")
	handDev := d.Lxc(t, "config", "device", "show", node)
	if p := lxdPlan(t, r, &want, s); !p.Empty() {
		t.Fatalf("hand-added device shows in the plan: %v", describe(p))
	}
	check := func(stage string) {
		t.Helper()
		n := query(t, d, "/1.0/networks/"+bridge)
		if got := d.Lxc(t, "config", "show", hand); got != handShow {
			t.Errorf("%s: unowned instance changed:\n%s", stage, cmp.Diff(handShow, got))
		}
		if got := unownedProfile(); got != profBefore {
			t.Errorf("%s: unowned profile key/device changed: %s → %s", stage, profBefore, got)
		}
		if n["config"].(map[string]any)[engine.TagOwner] != nil {
			t.Errorf("%s: unowned network got an owner tag", stage)
		}
	}
	check("after apply")

	// Prune: the service, the forward and the profile's owned key and device go.
	want.Exposures, want.Forwards = nil, nil
	want.Profiles[0].Config, want.Profiles[0].Devices = nil, nil
	converge(t, r, &want, s)
	check("after prune")
	if got := d.Lxc(t, "config", "device", "show", node); got != handDev {
		t.Errorf("hand-added device changed:\n%s", cmp.Diff(handDev, got))
	}
	pr := query(t, d, "/1.0/profiles/"+prof)
	if _, ok := pr["config"].(map[string]any)["limits.memory"]; ok {
		t.Errorf("owned profile key not removed: %v", pr["config"])
	}
	if _, ok := pr["devices"].(map[string]any)["lx"]; ok {
		t.Errorf("owned profile device not removed: %v", pr["devices"])
	}
	fwds := d.Lxc(t, "network", "forward", "list", bridge, "--format", "csv")
	if strings.Contains(fwds, fip) {
		t.Errorf("forward not pruned: %s", fwds)
	}

	// Everything of this owner goes; the unowned network is as it was.
	s.DeleteInstances = true
	converge(t, r, &spec.Remote{Name: r.Name()}, s)
	if got := d.Lxc(t, "network", "show", bridge); got != netShow {
		t.Errorf("unowned network changed:\n%s", cmp.Diff(netShow, got))
	}
	// The adopted profile was lxnetd's from then on, so it went too.
	if out, err := d.LxcErr("profile", "show", prof); err == nil {
		t.Errorf("adopted profile not pruned: %s", out)
	}
	if got := d.Lxc(t, "config", "show", hand); got != handShow {
		t.Errorf("unowned instance changed:\n%s", cmp.Diff(handShow, got))
	}
	if out, err := d.LxcErr("info", node); err == nil {
		t.Errorf("owned node still there: %s", out)
	}
}

// TestLXDNoOpPlanRequestsAreBulk: a no-op plan costs three bulk lists
// (profiles, instances, ACLs), the networks (names, the project, one GET per
// managed network), one image list (declared nodes exist, so their images
// are compared) and one forward list per bridge, with 1 or 80 forwards, profiles and
// instances: the same count at both sizes is the property (80 keeps the
// suite's time in bounds; make bench measures larger sizes). The forwards
// are spread over four bridges (LXD re-renders every forward of a network on
// each forward write, so many on one bridge cost O(N²) to create).
//
// It runs on a private daemon: 240 writes would slow everyone's tests on the
// shared one, and there the bridges are exactly this test's, so the count is
// known in advance.
func TestLXDNoOpPlanRequestsAreBulk(t *testing.T) {
	const bridges = 4
	d := sandbox.Private(t)
	r := connect(t, d.Remote())
	prefix := sandbox.UniqueName(t, "bk")
	s := spec.Settings{Owner: "t-" + prefix, DeleteInstances: true}
	var nets []spec.Network
	var bases []string
	for i := range bridges {
		base := strings.TrimSuffix(sandbox.AllocSubnet(t), "0/24")
		bases = append(bases, base)
		nets = append(nets, spec.Network{Meta: spec.Meta{Addr: fmt.Sprintf("network.lan%d", i)}, Name: sandbox.UniqueName(t, "lxb"),
			Type: "bridge", Config: map[string]string{"ipv4.address": base + "1/24", "ipv6.address": "none"}})
	}
	removeAll(t, r, s.Owner) // registered after the leases, so it runs before they are released
	build := func(n int) *spec.Remote {
		want := d.Remote()
		want.Networks = nets
		for i := range n {
			name := fmt.Sprintf("%s-%d", prefix, i)
			want.Profiles = append(want.Profiles, spec.Profile{Meta: spec.Meta{Addr: "profile." + name}, Name: name,
				Config: map[string]string{"user.index": fmt.Sprint(i)}})
			want.Instances = append(want.Instances, spec.Instance{Meta: spec.Meta{Addr: "node." + name}, Name: name,
				Image: "busybox", State: "stopped", Profiles: []string{"default", name}})
			want.Forwards = append(want.Forwards, spec.Forward{Meta: spec.Meta{Addr: "forward." + name}, Network: nets[i%bridges].Name,
				ListenAddress: fmt.Sprintf("203.0.113.%d", 1+i),
				Ports:         []spec.ForwardPort{{ListenPort: "80", TargetAddress: fmt.Sprintf("%s%d", bases[i%bridges], 10+i/bridges)}}})
		}
		return &want
	}
	for _, n := range []int{1, 80} {
		want := build(n)
		start := time.Now()
		var mu sync.Mutex
		perKind := map[engine.Kind]time.Duration{}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		_, err := engine.Apply(ctx, r, lxdPlan(t, r, want, s), engine.ApplyOptions{Parallelism: 4, Progress: func(cr engine.ChangeResult) {
			mu.Lock()
			perKind[cr.Change.Addr.Kind] += cr.Duration
			mu.Unlock()
		}})
		cancel()
		if err != nil {
			t.Fatalf("apply: %v", err)
		}
		applied := time.Since(start)
		t.Logf("n=%d: time spent per kind (summed over parallel writes): %v", n, perKind)
		start = time.Now()
		p := lxdPlan(t, r, want, s)
		if !p.Empty() {
			t.Fatalf("n=%d: no-op plan has changes: %v", n, describe(p))
		}
		if p.Owned != bridges+3*n {
			t.Errorf("n=%d: owned = %d, want %d", n, p.Owned, bridges+3*n)
		}
		// Networks: names, project, one GET per managed network (these
		// bridges: the private daemon has no other); profiles, instances,
		// ACLs, images; a forward list per bridge.
		if want := 2 + bridges + 4 + bridges; p.ForwardNetworks != bridges || !p.ImagesListed || p.Requests != int64(want) {
			t.Errorf("n=%d: no-op plan took %d requests with %d forward lists (images listed: %v), want %d", n, p.Requests, p.ForwardNetworks, p.ImagesListed, want)
		}
		t.Logf("n=%d: apply %s, no-op plan %s with %d requests (%d bridges)", n, applied.Round(time.Millisecond),
			time.Since(start).Round(time.Millisecond), p.Requests, p.ForwardNetworks)
	}
}

// TestLXDStaleETagIsRetried: someone writes a profile between plan and apply;
// the conditional update gets 412, re-reads, and applies the same change to
// the fresh copy, keeping the other writer's key.
func TestLXDStaleETagIsRetried(t *testing.T) {
	d := sandbox.Primary(t)
	r := connect(t, d.Remote())
	prefix := sandbox.UniqueName(t, "et")
	s := spec.Settings{Owner: "t-" + prefix}
	removeAll(t, r, s.Owner)
	want := d.Remote()
	want.Profiles = []spec.Profile{{Meta: spec.Meta{Addr: "profile.p"}, Name: prefix, Config: map[string]string{"limits.memory": "64MiB"}}}
	converge(t, r, &want, s)

	want.Profiles[0].Config["limits.memory"] = "128MiB"
	p := lxdPlan(t, r, &want, s)
	d.Lxc(t, "profile", "set", prefix, "user.other", "written-meanwhile")
	before := r.Requests()
	lxdApply(t, r, p)
	// An update is a GET and a PUT; the stale one adds a GET and the
	// re-read of that one profile (a GET, not a list).
	if n := r.Requests() - before; n != 4 {
		t.Errorf("apply took %d requests, want 4 (stale GET, re-read GET, GET, PUT)", n)
	}
	if got := strings.TrimSpace(d.Lxc(t, "profile", "get", prefix, "limits.memory")); got != "128MiB" {
		t.Errorf("limits.memory = %q", got)
	}
	if got := strings.TrimSpace(d.Lxc(t, "profile", "get", prefix, "user.other")); got != "written-meanwhile" {
		t.Errorf("the other writer's key was lost: %q", got)
	}
	if p := lxdPlan(t, r, &want, s); !p.Empty() {
		t.Fatalf("not converged: %v", describe(p))
	}
}
