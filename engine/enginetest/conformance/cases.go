package conformance

import (
	"errors"

	"github.com/google/go-cmp/cmp"

	"github.com/lxnetd/lxnetd/engine"
)

// cases is the suite, one subtest each. A new Remote method adds its case here.
var cases = []struct {
	name string
	run  func(*suite)
}{
	{"ListCostsOneRequest", listCostsOneRequest},
	{"Network", network},
	{"Profile", profile},
	{"NetworkInUse", networkInUse},
	{"InstanceListedAsCreated", instanceListedAsCreated},
	{"InstanceState", instanceState},
	{"InstanceMissingImage", instanceMissingImage},
	{"MissingReference", missingReference},
	{"Forwards", forwards},
	{"ForwardNeedsCapableNetwork", forwardNeedsCapableNetwork},
	{"Missing", missing},
	{"ACLs", acls},
	{"Get", get},
}

// listCostsOneRequest: every list but ListNetworks is one request, whatever
// there is to list. counted checks it on every list of the suite; this case
// lists each kind once more on a remote the suite has written nothing to
// yet. ListNetworks may cost one request per managed network (see
// internal/lxd), which on a daemon shared with other tests is no fixed
// number: TestLXDNoOpPlanRequestsAreBulk counts it exactly on a private one.
func listCostsOneRequest(s *suite) {
	if _, err := s.r.ListNetworks(s.ctx); err != nil {
		s.Errorf("ListNetworks: %v", err)
	}
	counted(s, "ListProfiles", func() ([]engine.Profile, error) { return s.r.ListProfiles(s.ctx) })
	counted(s, "ListInstances", func() ([]engine.Instance, error) { return s.r.ListInstances(s.ctx) })
	counted(s, "ListACLs", func() ([]engine.ACL, error) { return s.r.ListACLs(s.ctx) })
}

// network: a managed bridge lists with its config exactly as sent (LXD
// keeps "yes" as "yes" and adds nothing when the addresses are given), no
// locations on a standalone server, no users, no forwards, and an ETag that
// behaves as etagCase says.
func network(s *suite) {
	n, _ := s.createBridge(map[string]string{"ipv4.nat": "yes", "user.conformance": "yes"})
	got := s.mustNetwork(n.Name)
	if !got.Managed || got.Type != "bridge" || got.Status != "Created" || got.Description != n.Description {
		s.Errorf("listed network: managed %v type %q status %q description %q, want true bridge Created %q",
			got.Managed, got.Type, got.Status, got.Description, n.Description)
	}
	if diff := cmp.Diff(n.Config, got.Config); diff != "" {
		s.Errorf("listed config (-sent +listed):\n%s", diff)
	}
	if len(got.Locations) != 0 || len(got.UsedBy) != 0 || got.ETag == "" {
		s.Errorf("listed network: locations %q used by %v etag %q, want none, none and an etag", got.Locations, got.UsedBy, got.ETag)
	}
	if fw := s.forwards(n.Name); len(fw) != 0 {
		s.Errorf("a new network has forwards: %+v", fw)
	}
	s.wantRefused("CreateNetwork of a network that exists", s.r.CreateNetwork(s.ctx, n))
	networkETag(s, n)
}

// etagCase drives the ETag contract shared by networks, profiles and
// instances through accessors for one kind of object.
type etagCase[T any] struct {
	kind   string
	get    func() T      // list and pick the object
	update func(T) error // Update<Kind>
	// fields reaches the object's config, description (nil: a step leaves
	// it alone) and ETag.
	fields func(*T) (config *map[string]string, description, etag *string)
	blind  func(step string) T // an update without an ETag, without user.conformance
	equal  func(a, b T) string // a diff of the writable state, "" when equal
}

// set returns a copy of x with user.step (and the description) at step v.
func (c etagCase[T]) set(x T, v string) T {
	cfg, desc, _ := c.fields(&x)
	*cfg = withKey(*cfg, "user.step", v)
	if desc != nil {
		*desc = "step " + v
	}
	return x
}

func (c etagCase[T]) config(x T) map[string]string { cfg, _, _ := c.fields(&x); return *cfg }
func (c etagCase[T]) etag(x T) string              { _, _, e := c.fields(&x); return *e }

// check: an update with the ETag of a list works and changes the ETag; an
// update with a stale ETag fails with ErrPreconditionFailed and writes
// nothing; the ETag of the next list works again; an empty ETag writes
// unconditionally, replacing the config whole.
func (c etagCase[T]) check(s *suite) {
	s.Helper()
	old := c.get()
	s.must("Update"+c.kind+" with the listed etag", c.update(c.set(old, "1")))
	now := c.get()
	if c.config(now)["user.step"] != "1" || c.etag(now) == c.etag(old) {
		s.Errorf("after the update: user.step %q etag %q (was %q), want 1 and a new etag", c.config(now)["user.step"], c.etag(now), c.etag(old))
	}
	err := c.update(c.set(old, "2"))
	if !errors.Is(err, engine.ErrPreconditionFailed) {
		s.Errorf("Update%s with a stale etag: %v, want engine.ErrPreconditionFailed", c.kind, err)
	}
	if after := c.get(); c.etag(after) != c.etag(now) || c.equal(now, after) != "" {
		s.Errorf("a refused update changed the %s (etag %q → %q):\n%s", c.kind, c.etag(now), c.etag(after), c.equal(now, after))
	}
	s.must("Update"+c.kind+" with the etag of a new list", c.update(c.set(c.get(), "3")))
	s.must("Update"+c.kind+" without an etag", c.update(c.blind("4")))
	got := c.config(c.get())
	if _, kept := got["user.conformance"]; got["user.step"] != "4" || kept {
		s.Errorf("after an update without an etag and without user.conformance: config %v, want user.step 4 and no user.conformance", got)
	}
}

func networkETag(s *suite, n engine.Network) {
	etagCase[engine.Network]{
		kind:   "Network",
		get:    func() engine.Network { return s.mustNetwork(n.Name) },
		update: func(x engine.Network) error { return s.r.UpdateNetwork(s.ctx, x) },
		fields: func(x *engine.Network) (*map[string]string, *string, *string) {
			return &x.Config, &x.Description, &x.ETag
		},
		blind: func(v string) engine.Network {
			return engine.Network{Name: n.Name, Type: n.Type, Config: without(withKey(n.Config, "user.step", v), "user.conformance")}
		},
		equal: func(a, b engine.Network) string {
			return cmp.Diff([]any{a.Description, a.Config}, []any{b.Description, b.Config})
		},
	}.check(s)
}

// profile: a profile lists with its config and devices as sent, used by
// nothing, and an ETag that behaves as etagCase says.
func profile(s *suite) {
	p := s.createProfile(engine.Profile{
		Description: "conformance",
		Config:      map[string]string{"user.conformance": "yes", "limits.cpu": "1"},
		Devices: map[string]map[string]string{
			"web": {"type": "proxy", "listen": "tcp:127.0.0.1:18080", "connect": "tcp:127.0.0.1:80"},
		},
	})
	got := s.mustProfile(p.Name)
	if diff := cmp.Diff([]any{p.Description, p.Config, p.Devices}, []any{got.Description, got.Config, got.Devices}); diff != "" {
		s.Errorf("listed profile (-sent +listed):\n%s", diff)
	}
	s.wantUnused("listed profile", got.UsedBy, got.ETag)
	s.wantRefused("CreateProfile of a profile that exists", s.r.CreateProfile(s.ctx, p))
	etagCase[engine.Profile]{
		kind:   "Profile",
		get:    func() engine.Profile { return s.mustProfile(p.Name) },
		update: func(x engine.Profile) error { return s.r.UpdateProfile(s.ctx, x) },
		fields: func(x *engine.Profile) (*map[string]string, *string, *string) { return &x.Config, nil, &x.ETag },
		blind: func(v string) engine.Profile {
			return engine.Profile{Name: p.Name, Config: without(withKey(p.Config, "user.step", v), "user.conformance")}
		},
		equal: func(a, b engine.Profile) string {
			return cmp.Diff([]any{a.Description, a.Config, a.Devices}, []any{b.Description, b.Config, b.Devices})
		},
	}.check(s)
}

// networkInUse: a network lists its users (a profile and an instance with
// a NIC on it, an instance through that profile) in any order, and refuses
// to be deleted while used; so does a profile an instance uses.
func networkInUse(s *suite) {
	n, _ := s.createBridge(nil)
	nic := func(name string) map[string]map[string]string {
		return map[string]map[string]string{name: {"type": "nic", "network": n.Name, "name": name}}
	}
	p := s.createProfile(engine.Profile{Devices: nic("eth1")})
	direct := s.createInstance(engine.Instance{Profiles: []string{"default"}, Devices: nic("eth0")})
	viaProfile := s.createInstance(engine.Instance{Profiles: []string{"default", p.Name}})

	got := s.mustNetwork(n.Name)
	want := users(profileUser(p.Name), instanceUser(direct.Name), instanceUser(viaProfile.Name))
	if !sameSet(got.UsedBy, want) {
		s.Errorf("network used by %v, want %v in any order", got.UsedBy, want)
	}
	want = users(instanceUser(viaProfile.Name))
	if got := s.mustProfile(p.Name); !sameSet(got.UsedBy, want) {
		s.Errorf("profile used by %v, want %v", got.UsedBy, want)
	}

	s.wantRefused("DeleteNetwork of a network in use", s.r.DeleteNetwork(s.ctx, n.Name))
	s.mustNetwork(n.Name)
	s.wantRefused("DeleteProfile of a profile in use", s.r.DeleteProfile(s.ctx, p.Name))
	s.mustProfile(p.Name)

	// Once its users are gone, it goes.
	for _, i := range []string{direct.Name, viaProfile.Name} {
		s.must("DeleteInstance", s.r.DeleteInstance(s.ctx, i))
	}
	s.must("DeleteProfile once unused", s.r.DeleteProfile(s.ctx, p.Name))
	if got := s.mustNetwork(n.Name); len(got.UsedBy) != 0 {
		s.Errorf("network still used by %v after its users were deleted", got.UsedBy)
	}
	s.must("DeleteNetwork once unused", s.r.DeleteNetwork(s.ctx, n.Name))
	if _, ok := s.network(n.Name); ok {
		s.Errorf("network %s listed after its delete", n.Name)
	}
}

// missing: every write to an object that does not exist, and a list of
// forwards of a network that does not exist, fail with ErrNotFound.
func missing(s *suite) {
	name := s.env.Name(s.T, "none")
	ctx := s.ctx
	s.wantNotFound("UpdateNetwork", s.r.UpdateNetwork(ctx, engine.Network{Name: name, Type: "bridge", Config: map[string]string{}}))
	s.wantNotFound("DeleteNetwork", s.r.DeleteNetwork(ctx, name))
	s.wantNotFound("UpdateProfile", s.r.UpdateProfile(ctx, engine.Profile{Name: name}))
	s.wantNotFound("DeleteProfile", s.r.DeleteProfile(ctx, name))
	s.wantNotFound("UpdateInstance", s.r.UpdateInstance(ctx, engine.Instance{Name: name, Profiles: []string{"default"}}))
	s.wantNotFound("SetInstanceState start", s.r.SetInstanceState(ctx, name, "start", false))
	s.wantNotFound("SetInstanceState stop", s.r.SetInstanceState(ctx, name, "stop", true))
	s.wantNotFound("DeleteInstance", s.r.DeleteInstance(ctx, name))
	_, err := s.r.ListForwards(ctx, name)
	s.wantNotFound("ListForwards of a missing network", err)
	fw := engine.Forward{Network: name, ListenAddress: s.env.FloatingIP(s.T), Config: map[string]string{}}
	s.wantNotFound("DeleteForward on a missing network", s.r.DeleteForward(ctx, fw.Network, fw.ListenAddress, ""))
	s.wantNotFound("UpdateForward on a missing network", s.r.UpdateForward(ctx, fw))
	s.wantNotFound("CreateForward on a missing network", s.r.CreateForward(ctx, fw))
	// A missing forward on a network that exists: see forwards.
}
