package conformance

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/lxnetd/lxnetd/engine"
)

// instanceListedAsCreated: an instance lists stopped, with its profiles in
// the order sent, its local devices as sent, every config key as sent (plus
// keys LXD manages: volatile.* and image.*), no location on a standalone
// server, its NIC's reservation as its address; and its ETag behaves like a network's.
func instanceListedAsCreated(s *suite) {
	n, cidr := s.createBridge(nil)
	p := s.createProfile(engine.Profile{Config: map[string]string{"user.conformance": "yes"}})
	want := s.createInstance(engine.Instance{
		Type: "container", Description: "conformance",
		Profiles: []string{p.Name, "default"},
		Config:   map[string]string{"user.conformance": "yes", "boot.autostart": "no"},
		Devices: map[string]map[string]string{
			"eth0": {"type": "nic", "network": n.Name, "name": "eth0", "ipv4.address": host(cidr, 20)},
		},
	})
	got := s.mustInstance(want.Name)
	if got.Type != "container" || got.Status != "Stopped" || got.Location != "" || got.Description != want.Description || got.ETag == "" {
		s.Errorf("listed instance: type %q status %q location %q description %q etag %q, want container, Stopped, no location, %q and an etag",
			got.Type, got.Status, got.Location, got.Description, got.ETag, want.Description)
	}
	if !slices.Equal(got.Profiles, want.Profiles) {
		s.Errorf("listed profiles %q, want %q in that order", got.Profiles, want.Profiles)
	}
	if diff := cmp.Diff(want.Devices, got.Devices); diff != "" {
		s.Errorf("listed local devices (-sent +listed):\n%s", diff)
	}
	s.checkConfig(want.Config, got.Config)
	s.wantRefused("CreateInstance of an instance that exists", s.r.CreateInstance(s.ctx, want))
	if diff := cmp.Diff(map[string][]string{"eth0": {host(cidr, 20)}}, got.Addresses); diff != "" {
		s.Errorf("a stopped instance's addresses are not its NIC's reservation (-want +got):\n%s", diff)
	}

	etagCase[engine.Instance]{
		kind:   "Instance",
		get:    func() engine.Instance { return s.mustInstance(want.Name) },
		update: func(x engine.Instance) error { return s.r.UpdateInstance(s.ctx, x) },
		fields: func(x *engine.Instance) (*map[string]string, *string, *string) {
			return &x.Config, &x.Description, &x.ETag
		},
		blind: func(v string) engine.Instance {
			return engine.Instance{Name: want.Name, Profiles: want.Profiles, Devices: want.Devices,
				Config: without(withKey(want.Config, "user.step", v), "user.conformance")}
		},
		equal: func(a, b engine.Instance) string {
			return cmp.Diff([]any{a.Description, a.Profiles, a.Config, a.Devices}, []any{b.Description, b.Profiles, b.Config, b.Devices})
		},
	}.check(s)
	// An update keeps the keys LXD manages even when it does not send them.
	after := s.mustInstance(want.Name)
	for k, v := range got.Config {
		if managedKey(k) && after.Config[k] != v {
			s.Errorf("after updates without it, %s = %q, was %q", k, after.Config[k], v)
		}
	}
}

// managedKey says whether LXD sets a config key itself (so a listed config
// may hold it though nobody sent it).
func managedKey(k string) bool {
	return strings.HasPrefix(k, "volatile.") || strings.HasPrefix(k, "image.")
}

// checkConfig compares a listed instance config with the one sent: equal
// but for keys LXD manages.
func (s *suite) checkConfig(sent, listed map[string]string) {
	s.Helper()
	unmanaged := maps.Clone(listed)
	maps.DeleteFunc(unmanaged, func(k, _ string) bool { return managedKey(k) })
	if diff := cmp.Diff(sent, unmanaged); diff != "" {
		s.Errorf("listed config without volatile.* and image.* (-sent +listed):\n%s", diff)
	}
	if listed["volatile.base_image"] == "" {
		s.Errorf("listed config has no volatile.base_image: %v", listed)
	}
}

// instanceState: an instance created with neither type nor profiles is a
// container with the default profile; start and stop change its status;
// a NIC with a DHCP reservation lists that address, running or stopped
// (it comes from the configuration, not from the instance's state);
// starting a running or stopping a stopped one is refused; a start is no
// conflict for an update with the ETag listed before it; and a running
// instance is deleted (force-stopped first).
func instanceState(s *suite) {
	n, cidr := s.createBridge(nil)
	ip := host(cidr, 30)
	i := s.createInstance(engine.Instance{Devices: map[string]map[string]string{
		"eth0": {"type": "nic", "network": n.Name, "name": "eth0", "ipv4.address": ip},
	}})
	before := s.mustInstance(i.Name)
	if before.Type != "container" || !slices.Equal(before.Profiles, []string{"default"}) || before.Status != "Stopped" {
		s.Errorf("instance created without type and profiles: type %q profiles %q status %q, want container [default] Stopped",
			before.Type, before.Profiles, before.Status)
	}
	status := func(want string) {
		s.Helper()
		if got := s.mustInstance(i.Name); got.Status != want {
			s.Errorf("status %q, want %q", got.Status, want)
		}
	}

	s.must("start", s.r.SetInstanceState(s.ctx, i.Name, "start", false))
	status("Running")
	if got := s.mustInstance(i.Name).Addresses["eth0"]; !slices.Equal(got, []string{ip}) {
		s.Errorf("a running instance's eth0 addresses are %v, want its reservation %s", got, ip)
	}
	s.wantRefused("starting a running instance", s.r.SetInstanceState(s.ctx, i.Name, "start", false))
	upd := before
	upd.Config = withKey(before.Config, "user.step", "1")
	s.must("UpdateInstance with the etag listed before the start", s.r.UpdateInstance(s.ctx, upd))

	s.must("forced stop", s.r.SetInstanceState(s.ctx, i.Name, "stop", true))
	status("Stopped")
	if got := s.mustInstance(i.Name).Addresses["eth0"]; !slices.Equal(got, []string{ip}) {
		s.Errorf("a stopped instance's eth0 addresses are %v, want its reservation %s", got, ip)
	}
	s.wantRefused("stopping a stopped instance", s.r.SetInstanceState(s.ctx, i.Name, "stop", true))

	s.must("start", s.r.SetInstanceState(s.ctx, i.Name, "start", false))
	status("Running")
	s.must("DeleteInstance of a running instance", s.r.DeleteInstance(s.ctx, i.Name))
	if _, ok := s.instance(i.Name); ok {
		s.Errorf("instance %s listed after its delete", i.Name)
	}
}

// instanceMissingImage: a create from an image the remote does not have is
// refused (not ErrNotFound, though LXD answers 404) and leaves no instance.
func instanceMissingImage(s *suite) {
	if s.env.MissingImage == "" {
		s.Skip("Env.MissingImage not set: this remote accepts any image")
	}
	name := s.env.Name(s.T, "inst")
	s.cleanup("instance "+name, func(ctx context.Context) error { return s.r.DeleteInstance(ctx, name) })
	err := s.r.CreateInstance(s.ctx, engine.Instance{Name: name, Image: s.env.MissingImage, Profiles: []string{"default"}})
	s.wantRefused("CreateInstance from a missing image", err)
	if _, ok := s.instance(name); ok {
		s.Errorf("instance %s listed after a failed create", name)
	}
}

// missingReference: creating or updating an instance with a profile that
// does not exist, or an instance or a profile with a NIC on a network that
// does not exist, is refused, and leaves nothing behind or unchanged.
func missingReference(s *suite) {
	nic := map[string]map[string]string{"eth0": {"type": "nic", "network": s.env.Name(s.T, "net"), "name": "eth0"}}
	inst := s.env.Name(s.T, "inst")
	s.cleanup("instance "+inst, func(ctx context.Context) error { return s.r.DeleteInstance(ctx, inst) })
	err := s.r.CreateInstance(s.ctx, engine.Instance{Name: inst, Image: s.env.Image, Profiles: []string{"default"}, Devices: nic})
	s.wantRefused("CreateInstance with a NIC on a missing network", err)
	err = s.r.CreateInstance(s.ctx, engine.Instance{Name: inst, Image: s.env.Image, Profiles: []string{"default", s.env.Name(s.T, "prof")}})
	s.wantRefused("CreateInstance with a missing profile", err)
	if _, ok := s.instance(inst); ok {
		s.Errorf("instance %s listed after failed creates", inst)
	}
	prof := s.env.Name(s.T, "prof")
	s.cleanup("profile "+prof, func(ctx context.Context) error { return s.r.DeleteProfile(ctx, prof) })
	s.wantRefused("CreateProfile with a NIC on a missing network", s.r.CreateProfile(s.ctx, engine.Profile{Name: prof, Devices: nic}))
	if _, ok := s.profile(prof); ok {
		s.Errorf("profile %s listed after a failed create", prof)
	}

	p := s.createProfile(engine.Profile{})
	i := s.createInstance(engine.Instance{Profiles: []string{"default"}})
	wantP, wantI := s.mustProfile(p.Name), s.mustInstance(i.Name)
	upd := wantP
	upd.Devices = nic
	s.wantRefused("UpdateProfile with a NIC on a missing network", s.r.UpdateProfile(s.ctx, upd))
	updI := wantI
	updI.Devices = nic
	s.wantRefused("UpdateInstance with a NIC on a missing network", s.r.UpdateInstance(s.ctx, updI))
	updI = wantI
	updI.Profiles = []string{"default", prof}
	s.wantRefused("UpdateInstance with a missing profile", s.r.UpdateInstance(s.ctx, updI))
	if got := s.mustProfile(p.Name); got.ETag != wantP.ETag || len(got.Devices) != 0 {
		s.Errorf("a refused update changed profile %s: devices %v", p.Name, got.Devices)
	}
	if got := s.mustInstance(i.Name); got.ETag != wantI.ETag || !slices.Equal(got.Profiles, wantI.Profiles) || len(got.Devices) != 0 {
		s.Errorf("refused updates changed instance %s: profiles %q devices %v", i.Name, got.Profiles, got.Devices)
	}
}
