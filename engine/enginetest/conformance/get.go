package conformance

import (
	"github.com/google/go-cmp/cmp"

	"github.com/lxnetd/lxnetd/engine"
)

// get: each Get reads one object exactly as its List lists it (used_by and
// ETag included) in one request, and answers ErrNotFound for an object
// that does not exist, and GetForward also for a network that does not.
// The daemon's cache mixes objects from both kinds of read, so any
// difference would show as drift that is not there.
func get(s *suite) {
	n, cidr := s.createBridge(nil)
	p := s.createProfile(engine.Profile{
		Config:  map[string]string{"user.conformance": "yes"},
		Devices: map[string]map[string]string{"eth1": {"type": "nic", "network": n.Name, "name": "eth1"}},
	})
	i := s.createInstance(engine.Instance{Profiles: []string{"default", p.Name}, Config: map[string]string{"user.conformance": "yes"}})
	f := engine.Forward{
		Network: n.Name, ListenAddress: s.env.FloatingIP(s.T), Description: "conformance",
		Config: map[string]string{"user.conformance": "yes"},
		Ports:  []engine.ForwardPort{{Protocol: "tcp", ListenPort: "80", TargetAddress: host(cidr, 20), TargetPort: "8080"}},
	}
	s.createForward(f)

	single(s, "GetNetwork", s.mustNetwork(n.Name), func() (engine.Network, error) { return s.r.GetNetwork(s.ctx, n.Name) })
	single(s, "GetProfile", s.mustProfile(p.Name), func() (engine.Profile, error) { return s.r.GetProfile(s.ctx, p.Name) })
	single(s, "GetInstance", s.mustInstance(i.Name), func() (engine.Instance, error) { return s.r.GetInstance(s.ctx, i.Name) })
	listed, ok := find(s.forwards(n.Name), func(x engine.Forward) string { return x.ListenAddress }, f.ListenAddress)
	if !ok {
		s.Fatalf("forward %s is not listed once", f.ListenAddress)
	}
	single(s, "GetForward", listed, func() (engine.Forward, error) { return s.r.GetForward(s.ctx, n.Name, f.ListenAddress, "") })

	none := s.env.Name(s.T, "none")
	_, err := s.r.GetNetwork(s.ctx, none)
	s.wantNotFound("GetNetwork of a missing network", err)
	_, err = s.r.GetProfile(s.ctx, none)
	s.wantNotFound("GetProfile of a missing profile", err)
	_, err = s.r.GetInstance(s.ctx, none)
	s.wantNotFound("GetInstance of a missing instance", err)
	_, err = s.r.GetForward(s.ctx, n.Name, s.env.FloatingIP(s.T), "")
	s.wantNotFound("GetForward of a missing forward", err)
	_, err = s.r.GetForward(s.ctx, none, f.ListenAddress, "")
	s.wantNotFound("GetForward on a missing network", err)
}

// single runs one Get and checks that it cost one request and read what
// the list listed.
func single[T any](s *suite, what string, listed T, get func() (T, error)) {
	s.Helper()
	got := counted(s, what, get)
	if diff := cmp.Diff(listed, got, portsAnyOrder); diff != "" {
		s.Errorf("%s (-listed +read):\n%s", what, diff)
	}
}
