package cache_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/cache"
	"github.com/lxnetd/lxnetd/engine/enginetest"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// lister is the fake LXD, counting list calls apart from all requests.
type lister struct {
	*enginetest.Fake
	lists, images atomic.Int64
}

func (l *lister) ListNetworks(ctx context.Context) ([]engine.Network, error) {
	l.lists.Add(1)
	return l.Fake.ListNetworks(ctx)
}
func (l *lister) ListProfiles(ctx context.Context) ([]engine.Profile, error) {
	l.lists.Add(1)
	return l.Fake.ListProfiles(ctx)
}
func (l *lister) ListInstances(ctx context.Context) ([]engine.Instance, error) {
	l.lists.Add(1)
	return l.Fake.ListInstances(ctx)
}
func (l *lister) ListForwards(ctx context.Context, n string) ([]engine.Forward, error) {
	l.lists.Add(1)
	return l.Fake.ListForwards(ctx, n)
}
func (l *lister) ListImages(ctx context.Context) ([]engine.Image, error) {
	l.images.Add(1)
	return l.Fake.ListImages(ctx)
}

var settings = spec.Settings{Owner: "t", MaxDeletes: 10}

const fip = "198.51.100.10"

// web declares a bridge, a profile with a proxy device, a node and a
// forward with two ports.
func web() *spec.Remote {
	return &spec.Remote{
		Name: "local",
		Networks: []spec.Network{{Meta: spec.Meta{Addr: "network.br0"}, Name: "br0", Type: "bridge",
			Config: map[string]string{"ipv4.address": "10.231.1.1/24"}}},
		Profiles: []spec.Profile{{Meta: spec.Meta{Addr: "profile.web"}, Name: "web",
			Config:  map[string]string{"limits.memory": "64MiB"},
			Devices: map[string]spec.Device{"admin": {"type": "proxy", "listen": "tcp:127.0.0.1:8080", "connect": "tcp:127.0.0.1:80"}}}},
		Instances: []spec.Instance{{Meta: spec.Meta{Addr: "node.web1"}, Name: "web1", Image: "busybox",
			Profiles: []string{"default", "web"},
			Devices:  map[string]spec.Device{"eth0": {"type": "nic", "network": "br0", "ipv4.address": "10.231.1.10"}},
			IPv4:     "10.231.1.10", NIC: "eth0", Network: "br0"}},
		Forwards: []spec.Forward{{Meta: spec.Meta{Addr: "forward.web"}, Network: "br0", ListenAddress: fip,
			Ports: []spec.ForwardPort{
				{Protocol: "tcp", ListenPort: "80", TargetAddress: "10.231.1.10"},
				{Protocol: "tcp", ListenPort: "443", TargetAddress: "10.231.1.10"},
			}}},
	}
}

var forwardAddr = engine.Address{Kind: engine.KindForward, Network: "br0", Name: fip}

// pass is one daemon pass on the cache: observe (or refresh), plan, apply,
// re-read what was written. It returns the plan and what the reads cost.
type passResult struct {
	plan         *engine.Plan
	full         bool
	requests     int64 // requests of the observation (reads only)
	lists        int64 // list calls of the whole pass
	objectReads  int64 // targeted reads of the whole pass
	observations int64
}

func pass(t *testing.T, c *cache.Cache, l *lister, d *spec.Remote, wants func(engine.Address) bool) passResult {
	t.Helper()
	ctx := context.Background()
	lists, stats := l.lists.Load(), c.Stats()
	o, full, err := c.Observation(ctx, d, time.Hour, wants)
	if err != nil {
		t.Fatalf("observation: %v", err)
	}
	res := passResult{full: full, requests: o.Requests}
	p, err := o.Plan(d, settings, engine.PlanOptions{})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if !p.Empty() {
		r, err := engine.Apply(ctx, l, p, engine.ApplyOptions{})
		if err != nil {
			t.Fatalf("apply: %v", err)
		}
		var written []*engine.Change
		for _, cr := range append(r.Done, r.Failed...) {
			written = append(written, cr.Change)
		}
		if err := c.Wrote(ctx, written); err != nil {
			t.Fatalf("wrote: %v", err)
		}
	}
	res.plan = p
	res.lists = l.lists.Load() - lists
	res.objectReads = c.Stats().ObjectReads - stats.ObjectReads
	res.observations = c.Stats().Observations - stats.Observations
	return res
}

func newCache(t *testing.T) (*cache.Cache, *lister) {
	l := &lister{Fake: enginetest.New("local")}
	c := cache.New(l)
	if p := pass(t, c, l, web(), nil); !p.full || p.plan.Empty() {
		t.Fatalf("first pass: full %v, plan empty %v; want a full observation and creates", p.full, p.plan.Empty())
	}
	// The node exists now: the second pass lists images (once) to compare
	// its image; from then on a pass reads nothing.
	if p := pass(t, c, l, web(), nil); p.full || !p.plan.Empty() || p.requests != 1 || l.images.Load() != 1 {
		t.Fatalf("second pass: full %v, plan %v, %d requests, %d image lists; want only the image list", p.full, addrs(p.plan), p.requests, l.images.Load())
	}
	if p := pass(t, c, l, web(), nil); p.full || !p.plan.Empty() || p.requests != 0 {
		t.Fatalf("third pass: full %v, plan %v, %d requests; want nothing to read or do", p.full, addrs(p.plan), p.requests)
	}
	return c, l
}

func addrs(p *engine.Plan) []string {
	var out []string
	for _, c := range p.Changes {
		out = append(out, c.Action.String()+" "+c.Addr.String())
	}
	return out
}

// A hand-deleted forward is restored from one targeted read, and the pass
// its echo causes reads at most that forward again: neither lists anything.
func TestDriftRepairReadsOnlyTheObject(t *testing.T) {
	c, l := newCache(t)
	delete(l.Forwards["br0"], fip)
	c.Note(engine.Event{Object: forwardAddr})
	p := pass(t, c, l, web(), nil)
	if got := addrs(p.plan); !slices.Equal(got, []string{"create " + forwardAddr.String()}) || p.full || p.lists != 0 {
		t.Fatalf("after a hand delete: plan %v, full %v, %d lists; want the forward created without a list", got, p.full, p.lists)
	}
	if p.requests != 1 || p.objectReads != 2 { // the read after the event, the read after the write
		t.Errorf("drift pass: %d observation requests, %d object reads; want 1 and 2", p.requests, p.objectReads)
	}
	if _, ok := l.Forwards["br0"][fip]; !ok {
		t.Fatal("forward not restored")
	}

	// The echo of the create arrives after the write's own read: one read.
	c.Note(engine.Event{Object: forwardAddr})
	if p := pass(t, c, l, web(), nil); !p.plan.Empty() || p.lists != 0 || p.requests != 1 {
		t.Errorf("echo pass: plan %v, %d lists, %d requests; want no change, no list, one read", addrs(p.plan), p.lists, p.requests)
	}
}

// An echo that arrives before the write's own read is answered by that
// read: the pass it causes reads nothing at all.
func TestEchoBeforeTheWritesReadCostsNothing(t *testing.T) {
	c, l := newCache(t)
	l.Profiles["web"] = withConfig(l.Profiles["web"], "limits.memory", "1GiB", l)
	c.Note(engine.Event{Object: engine.Address{Kind: engine.KindProfile, Name: "web"}})
	o, _, err := c.Observation(context.Background(), web(), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := o.Plan(web(), settings, engine.PlanOptions{})
	if err != nil || len(p.Changes) != 1 {
		t.Fatalf("plan after a hand edit: %v, %v; want one update", addrs(p), err)
	}
	if _, err := engine.Apply(context.Background(), l, p, engine.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	c.Note(engine.Event{Object: engine.Address{Kind: engine.KindProfile, Name: "web"}}) // the echo, early
	if err := c.Wrote(context.Background(), p.Changes); err != nil {
		t.Fatal(err)
	}
	if q := pass(t, c, l, web(), nil); !q.plan.Empty() || q.requests != 0 {
		t.Errorf("echo pass: plan %v, %d requests; want nothing", addrs(q.plan), q.requests)
	}
	if got := l.Profiles["web"].Config["limits.memory"]; got != "64MiB" {
		t.Errorf("limits.memory %q after the correction, want 64MiB", got)
	}
}

// withConfig is a hand edit: p with key set and a new ETag, as LXD gives
// any write.
func withConfig(p engine.Profile, key, value string, l *lister) engine.Profile {
	p.Config = maps.Clone(p.Config)
	p.Config[key] = value
	p.ETag += "-hand"
	return p
}

// A cache that missed an event (stale) never clobbers: the plan's update
// carries the ETag the cache read, LXD refuses it, the engine re-reads that
// one object and re-applies only lxnetd's keys; the hand edit stays.
func TestStaleCacheNeverClobbers(t *testing.T) {
	c, l := newCache(t)
	l.Profiles["web"] = withConfig(l.Profiles["web"], "user.hand", "yes", l) // no event
	d := web()
	d.Profiles[0].Config["limits.memory"] = "128MiB"
	p := pass(t, c, l, d, nil)
	if got := addrs(p.plan); !slices.Equal(got, []string{"update profile.web"}) || p.lists != 0 {
		t.Fatalf("plan %v, %d lists; want the update without a list", got, p.lists)
	}
	got := l.Profiles["web"].Config
	if got["user.hand"] != "yes" || got["limits.memory"] != "128MiB" {
		t.Errorf("profile config after the update: %v; want the hand edit kept and limits.memory 128MiB", got)
	}
	if q := pass(t, c, l, d, nil); !q.plan.Empty() {
		t.Errorf("after the update the cache holds %v to do", addrs(q.plan))
	}
}

// Events about objects the configuration does not care about are not read
// until it does (or until a full observation).
func TestUnwantedObjectsWait(t *testing.T) {
	c, l := newCache(t)
	other := engine.Address{Kind: engine.KindProfile, Name: "other"}
	l.Profiles["other"] = engine.Profile{Name: "other", Config: map[string]string{}, Devices: map[string]map[string]string{}, ETag: "x"}
	c.Note(engine.Event{Object: other})
	declared := func(a engine.Address) bool { return a != other }
	if p := pass(t, c, l, web(), declared); p.requests != 0 || !p.plan.Empty() {
		t.Fatalf("pass after an unrelated event: %d requests, plan %v; want nothing", p.requests, addrs(p.plan))
	}
	if got := c.Pending(); !slices.Equal(got, []engine.Address{other}) {
		t.Fatalf("pending %v, want %v kept for later", got, other)
	}
	if p := pass(t, c, l, web(), nil); p.requests != 1 || len(c.Pending()) != 0 {
		t.Fatalf("once wanted: %d requests, pending %v; want the one read", p.requests, c.Pending())
	}
}

// The cache observes everything again once the resync interval has
// passed since its last full observation, however busy it kept.
func TestResyncObservesEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &lister{Fake: enginetest.New("local")}
		c := cache.New(l)
		obs := func() bool {
			_, full, err := c.Observation(context.Background(), web(), time.Minute, nil)
			if err != nil {
				t.Fatal(err)
			}
			return full
		}
		if !obs() {
			t.Fatal("first observation not full")
		}
		for range 5 {
			time.Sleep(10 * time.Second)
			if obs() {
				t.Fatal("a full observation before the resync interval")
			}
		}
		time.Sleep(10 * time.Second)
		if !obs() {
			t.Fatal("no full observation after the resync interval")
		}
		if obs() {
			t.Fatal("the clock did not restart with the full observation")
		}
	})
}

// What the cache cannot place makes it observe everything: an event naming
// nothing it knows, Invalidate, more changed objects than MaxRefresh.
func TestObservesEverythingWhenLost(t *testing.T) {
	c, l := newCache(t)
	for name, lose := range map[string]func(){
		"unplaced event": func() { c.Note(engine.Event{}) },
		"invalidate":     c.Invalidate,
		"many objects": func() {
			for i := range cache.MaxRefresh + 1 {
				c.Note(engine.Event{Object: engine.Address{Kind: engine.KindNode, Name: fmt.Sprint("n", i)}})
			}
		},
	} {
		lose()
		if p := pass(t, c, l, web(), nil); !p.full || p.observations != 1 || p.objectReads != 0 {
			t.Errorf("%s: full %v, %d observations, %d object reads; want one full observation", name, p.full, p.observations, p.objectReads)
		}
		if p := pass(t, c, l, web(), nil); p.full || p.requests != 0 {
			t.Errorf("%s: the pass after it: full %v, %d requests; want none", name, p.full, p.requests)
		}
	}
}

// Images are listed once and kept: again after an event about an image,
// and when the configuration names other images; other events about
// objects lxnetd does not plan change nothing.
func TestImagesListedAgainOnlyWhenTheyMayHaveChanged(t *testing.T) {
	c, l := newCache(t)
	images := func(d *spec.Remote) int64 {
		t.Helper()
		before := l.images.Load()
		if _, _, err := c.Observation(context.Background(), d, time.Hour, nil); err != nil {
			t.Fatal(err)
		}
		return l.images.Load() - before
	}
	if n := images(web()); n != 0 {
		t.Errorf("%d image lists for the same configuration, want 0", n)
	}
	c.Note(engine.Event{Unplanned: true})
	if n := images(web()); n != 0 {
		t.Errorf("%d image lists after an event about something unplanned, want 0", n)
	}
	c.Note(engine.Event{Unplanned: true, Images: true})
	if n := images(web()); n != 1 {
		t.Errorf("%d image lists after an image event, want 1", n)
	}
	d := web()
	d.Instances[0].Image = "other"
	if n := images(d); n != 1 {
		t.Errorf("%d image lists after the image changed in the configuration, want 1", n)
	}
}

// Whatever changes by hand, re-reading the objects the events named gives
// the cache what a full observation sees (used_by aside: it changes with
// the users, without an event for the object used).
func TestRefreshMatchesObserve(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			c, l := newCache(t)
			for range 1 + rng.IntN(5) {
				c.Note(engine.Event{Object: handChange(rng, l.Fake)})
			}
			got, _, err := c.Observation(context.Background(), web(), time.Hour, nil)
			if err != nil {
				t.Fatal(err)
			}
			want, err := engine.Observe(context.Background(), l)
			if err != nil {
				t.Fatal(err)
			}
			opts := []cmp.Option{cmpopts.IgnoreFields(engine.Network{}, "UsedBy"), cmpopts.IgnoreFields(engine.Profile{}, "UsedBy"), cmpopts.EquateEmpty()}
			for _, d := range []string{
				cmp.Diff(want.Networks(), got.Networks(), opts...),
				cmp.Diff(want.Profiles(), got.Profiles(), opts...),
				cmp.Diff(want.Instances(), got.Instances(), opts...),
				cmp.Diff(want.Forwards(), got.Forwards(), opts...),
				cmp.Diff(want.ACLs(), got.ACLs(), opts...),
			} {
				if d != "" {
					t.Errorf("cache differs from a fresh observation (-observed +cached):\n%s", d)
				}
			}
		})
	}
}

// handChange makes one change by hand on the fake, as someone with lxc
// would, and returns the object its event names.
func handChange(rng *rand.Rand, f *enginetest.Fake) engine.Address {
	ctx := context.Background()
	switch rng.IntN(9) {
	case 0: // delete the forward
		_ = f.DeleteForward(ctx, "br0", fip, "")
		return forwardAddr
	case 1: // change its ports
		fw, _ := f.GetForward(ctx, "br0", fip, "")
		fw.Network, fw.ListenAddress = "br0", fip
		fw.Ports = append(fw.Ports, engine.ForwardPort{Protocol: "udp", ListenPort: "53", TargetAddress: "10.231.1.11"})
		if f.UpdateForward(ctx, fw) != nil {
			_ = f.CreateForward(ctx, fw)
		}
		return forwardAddr
	case 2: // edit the profile
		p, _ := f.GetProfile(ctx, "web")
		p.Name = "web"
		p.Config = map[string]string{"user.hand": fmt.Sprint(rng.Int())}
		p.ETag = ""
		_ = f.UpdateProfile(ctx, p)
		return engine.Address{Kind: engine.KindProfile, Name: "web"}
	case 3: // a new bridge, with a forward made before its event is read
		name := fmt.Sprint("hand", rng.IntN(3))
		_ = f.CreateNetwork(ctx, engine.Network{Name: name, Type: "bridge", Config: map[string]string{"ipv4.address": "10.231.9.1/24"}})
		_ = f.CreateForward(ctx, engine.Forward{Network: name, ListenAddress: "203.0.113.5", Config: map[string]string{}})
		return engine.Address{Kind: engine.KindNetwork, Name: name}
	case 4: // the instance's config
		if i, err := f.GetInstance(ctx, "web1"); err == nil {
			i.Config["user.hand"] = fmt.Sprint(rng.Int())
			i.ETag = ""
			_ = f.UpdateInstance(ctx, i)
		}
		return engine.Address{Kind: engine.KindNode, Name: "web1"}
	case 5: // the instance goes
		_ = f.DeleteInstance(ctx, "web1")
		return engine.Address{Kind: engine.KindNode, Name: "web1"}
	case 7: // an ACL appears, or its rules change
		a := engine.ACL{Name: "handacl", Config: map[string]string{}, Ingress: []engine.ACLRule{{Action: "allow", Protocol: "tcp", DestinationPort: fmt.Sprint(1 + rng.IntN(1000))}}}
		if f.CreateACL(ctx, a) != nil {
			_ = f.UpdateACL(ctx, a)
		}
		return engine.Address{Kind: engine.KindACL, Name: "handacl"}
	case 8: // the ACL goes
		_ = f.DeleteACL(ctx, "handacl")
		return engine.Address{Kind: engine.KindACL, Name: "handacl"}
	default: // a forward on a network whose event is still to come
		name := fmt.Sprint("late", rng.IntN(2))
		_ = f.CreateNetwork(ctx, engine.Network{Name: name, Type: "bridge", Config: map[string]string{"ipv4.address": "10.231.8.1/24"}})
		_ = f.CreateForward(ctx, engine.Forward{Network: name, ListenAddress: "203.0.113.6", Config: map[string]string{}})
		return engine.Address{Kind: engine.KindForward, Network: name, Name: "203.0.113.6"}
	}
}

// Reads that started before the event stream was up are repeated once it
// is; a stream up before the first read costs nothing.
func TestSubscribedAfterTheFirstReadReadsAgain(t *testing.T) {
	l := &lister{Fake: enginetest.New("local")}
	c := cache.New(l)
	if c.Subscribed() {
		t.Fatal("a stream up before any read asks for another read")
	}
	if p := pass(t, c, l, web(), nil); !p.full {
		t.Fatal("first pass not a full read")
	}
	if p := pass(t, c, l, web(), nil); p.full {
		t.Fatal("a full read again without cause")
	}

	late := cache.New(l)
	if p := pass(t, late, l, web(), nil); !p.full {
		t.Fatal("first pass not a full read")
	}
	if !late.Subscribed() {
		t.Fatal("a stream up after the first read does not ask for another")
	}
	if p := pass(t, late, l, web(), nil); !p.full {
		t.Fatal("no full read after the late stream")
	}
}
