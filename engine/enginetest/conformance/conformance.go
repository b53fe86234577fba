// Package conformance is one test suite for engine.Remote, run against every
// implementation: the LXD adapter (internal/lxd, against the sandbox's real
// LXD) and the in-memory enginetest.Fake. The adapter is the truth; the suite
// pins down the behaviour the engine relies on, so the fake the engine's unit
// tests run against cannot drift from LXD unnoticed.
//
// It owns the contract of engine.Remote as LXD 5.0 behaves: what a list
// returns after a create, ETags, which error a write returns (ErrNotFound,
// ErrPreconditionFailed, a plain refusal), and how many requests a list
// costs. It does not import internal/lxd or internal/sandbox (engine must
// not depend on the LXD client): the caller passes the Remote and the names
// and addresses it may use in an Env.
//
// A new Remote method gets one more entry in the cases table (cases.go).
package conformance

import (
	"context"
	"errors"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/engine"
)

// Env is what a run needs besides the suite: a Remote to test and the
// names and addresses it may create objects with. Every object the suite
// creates is deleted through the Remote in t.Cleanup, also when a check
// fails.
type Env struct {
	// NewRemote returns a Remote for one subtest (a fresh connection or a
	// fresh fake). It is called once per subtest.
	NewRemote func(t *testing.T) engine.Remote
	// Name returns an object name no other test uses, at most 15
	// characters (valid for a bridge's interface name). prefix hints at the
	// kind ("net", "prof", "inst").
	Name func(t testing.TB, prefix string) string
	// Subnet returns an IPv4 /24 ("10.231.X.0/24") that is free for a
	// bridge for the rest of the test.
	Subnet func(t testing.TB) string
	// FloatingIP returns an IPv4 address a network forward may listen on.
	FloatingIP func(t testing.TB) string
	// Image is an image alias instances can be created from.
	Image string
	// MissingImage is an image reference that does not exist on the
	// remote. Empty skips the check (a remote that accepts any image).
	MissingImage string
}

// Run runs every case of the suite as a subtest of t.
func Run(t *testing.T, env Env) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.run(newSuite(t, env))
		})
	}
}

// writeTimeout bounds the calls of one subtest (and each cleanup): a
// subtest takes a few seconds on the sandbox (an instance start or forced
// stop about one), which leaves room for a machine many times slower.
const writeTimeout = 2 * time.Minute

// suite is one subtest's view: its Remote, its context and helpers that
// create objects and register their deletion.
type suite struct {
	*testing.T
	env Env
	r   engine.Remote
	ctx context.Context
}

func newSuite(t *testing.T, env Env) *suite {
	ctx, cancel := context.WithTimeout(t.Context(), writeTimeout)
	t.Cleanup(cancel)
	return &suite{T: t, env: env, r: env.NewRemote(t), ctx: ctx}
}

// cleanup deletes an object the suite created, with a context of its own
// (the test's is cancelled by then); an object already gone is fine.
func (s *suite) cleanup(what string, del func(ctx context.Context) error) {
	s.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		defer cancel()
		if err := del(ctx); err != nil && !errors.Is(err, engine.ErrNotFound) {
			s.Errorf("cleaning up %s: %v", what, err)
		}
	})
}

// create makes obj, the what (e.g. "profile") called name, with the create
// call (named call in a failure), after registering its deletion by del,
// so that a create that half-failed is cleaned up too.
func create[T any](s *suite, call, what, name string, obj T, create func(context.Context, T) error, del func(context.Context, string) error) {
	s.Helper()
	s.cleanup(what+" "+name, func(ctx context.Context) error { return del(ctx, name) })
	s.must(call, create(s.ctx, obj))
}

// wantUnused checks what a new object (what: "listed profile") lists with:
// used by nothing, and an ETag.
func (s *suite) wantUnused(what string, usedBy []engine.Address, etag string) {
	s.Helper()
	if len(usedBy) != 0 || etag == "" {
		s.Errorf("%s: used by %v etag %q, want none and an etag", what, usedBy, etag)
	}
}

// nameOr is name, or a new unique name with prefix when it is "".
func (s *suite) nameOr(name, prefix string) string {
	if name == "" {
		return s.env.Name(s.T, prefix)
	}
	return name
}

// must fails the subtest at once on err, naming the call.
func (s *suite) must(what string, err error) {
	s.Helper()
	if err != nil {
		s.Fatalf("%s: %v", what, err)
	}
}

// wantNotFound checks that err is engine.ErrNotFound.
func (s *suite) wantNotFound(what string, err error) {
	s.Helper()
	if !errors.Is(err, engine.ErrNotFound) {
		s.Errorf("%s: %v, want engine.ErrNotFound", what, err)
	}
}

// wantRefused checks that a write failed with an error that is neither
// ErrNotFound nor ErrPreconditionFailed (which the engine would read as
// "the object is gone" or "re-read and retry"), and logs it.
func (s *suite) wantRefused(what string, err error) {
	s.Helper()
	switch {
	case err == nil:
		s.Errorf("%s succeeded, want an error", what)
	case errors.Is(err, engine.ErrNotFound), errors.Is(err, engine.ErrPreconditionFailed):
		s.Errorf("%s: %v, want a refusal that is neither ErrNotFound nor ErrPreconditionFailed", what, err)
	default:
		s.Logf("%s: %v", what, err)
	}
}

// counted runs one call (a list, or a targeted get) and checks it cost
// exactly one request: the engine's claim that reads are bulk rests on it.
func counted[R any](s *suite, what string, call func() (R, error)) R {
	s.Helper()
	before := s.r.Requests()
	out, err := call()
	s.must(what, err)
	if n := s.r.Requests() - before; n != 1 {
		s.Errorf("%s cost %d requests, want 1", what, n)
	}
	return out
}

// find returns the element of list named name, and whether there is exactly one.
func find[T any](list []T, name func(T) string, want string) (T, bool) {
	var out T
	n := 0
	for _, x := range list {
		if name(x) == want {
			out, n = x, n+1
		}
	}
	return out, n == 1
}

func (s *suite) network(name string) (engine.Network, bool) {
	s.Helper()
	nets, err := s.r.ListNetworks(s.ctx) // not counted: see listCostsOneRequest
	s.must("ListNetworks", err)
	return find(nets, func(n engine.Network) string { return n.Name }, name)
}

func (s *suite) profile(name string) (engine.Profile, bool) {
	s.Helper()
	ps := counted(s, "ListProfiles", func() ([]engine.Profile, error) { return s.r.ListProfiles(s.ctx) })
	return find(ps, func(p engine.Profile) string { return p.Name }, name)
}

func (s *suite) instance(name string) (engine.Instance, bool) {
	s.Helper()
	is := counted(s, "ListInstances", func() ([]engine.Instance, error) { return s.r.ListInstances(s.ctx) })
	return find(is, func(i engine.Instance) string { return i.Name }, name)
}

func (s *suite) forwards(network string) []engine.Forward {
	s.Helper()
	return counted(s, "ListForwards", func() ([]engine.Forward, error) { return s.r.ListForwards(s.ctx, network) })
}

// mustNetwork, mustProfile and mustInstance list and fail the subtest
// when the object is not listed exactly once.
func (s *suite) mustNetwork(name string) engine.Network {
	return listedOnce(s, "network", name, s.network)
}
func (s *suite) mustProfile(name string) engine.Profile {
	return listedOnce(s, "profile", name, s.profile)
}
func (s *suite) mustInstance(name string) engine.Instance {
	return listedOnce(s, "instance", name, s.instance)
}

func listedOnce[T any](s *suite, kind, name string, find func(string) (T, bool)) T {
	s.Helper()
	x, ok := find(name)
	if !ok {
		s.Fatalf("%s %s is not listed once", kind, name)
	}
	return x
}

// gateway is the bridge address (host 1, with its prefix) of a /24
// written "a.b.c.0/24"; host returns address number n of it.
func gateway(cidr string) string { return host(cidr, 1) + "/24" }

func host(cidr string, n int) string {
	prefix, _, _ := strings.Cut(cidr, "/")
	return prefix[:strings.LastIndex(prefix, ".")+1] + strconv.Itoa(n)
}

// createBridge creates a managed bridge on a fresh subnet with config
// (merged over the subnet's address, no IPv6) and registers its deletion.
func (s *suite) createBridge(config map[string]string) (engine.Network, string) {
	s.Helper()
	cidr := s.env.Subnet(s.T)
	n := engine.Network{
		Name: s.env.Name(s.T, "net"), Type: "bridge", Description: "conformance",
		Config: map[string]string{"ipv4.address": gateway(cidr), "ipv6.address": "none"},
	}
	maps.Copy(n.Config, config)
	create(s, "CreateNetwork", "network", n.Name, n, s.r.CreateNetwork, s.r.DeleteNetwork)
	return n, cidr
}

func (s *suite) createProfile(p engine.Profile) engine.Profile {
	s.Helper()
	p.Name = s.nameOr(p.Name, "prof")
	create(s, "CreateProfile", "profile", p.Name, p, s.r.CreateProfile, s.r.DeleteProfile)
	return p
}

// createInstance creates an instance from env.Image; its deletion (which
// force-stops it) is registered before the create, so that a create that
// half-failed is cleaned up too.
func (s *suite) createInstance(i engine.Instance) engine.Instance {
	s.Helper()
	i.Name = s.nameOr(i.Name, "inst")
	i.Image = s.env.Image
	create(s, "CreateInstance", "instance", i.Name, i, s.r.CreateInstance, s.r.DeleteInstance)
	return i
}

func (s *suite) createForward(f engine.Forward) {
	s.Helper()
	s.cleanup("forward "+f.ListenAddress, func(ctx context.Context) error {
		return s.r.DeleteForward(ctx, f.Network, f.ListenAddress, "")
	})
	s.must("CreateForward", s.r.CreateForward(s.ctx, f))
}

// Users of a network or profile as a Remote lists them in UsedBy.
func instanceUser(name string) engine.Address {
	return engine.Address{Kind: engine.KindNode, Name: name}
}
func profileUser(name string) engine.Address {
	return engine.Address{Kind: engine.KindProfile, Name: name}
}

func users[T any](u ...T) []T { return u }

// sameSet reports whether a and b hold the same elements, in any order.
func sameSet[T comparable](a, b []T) bool {
	count := map[T]int{}
	for _, x := range a {
		count[x]++
	}
	for _, x := range b {
		count[x]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return len(a) == len(b)
}

// withKey returns a copy of m with k set to v.
func withKey(m map[string]string, k, v string) map[string]string {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]string{}
	}
	out[k] = v
	return out
}

// without returns a copy of m without k.
func without(m map[string]string, k string) map[string]string {
	out := maps.Clone(m)
	delete(out, k)
	return out
}
