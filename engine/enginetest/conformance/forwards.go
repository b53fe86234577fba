package conformance

import (
	"context"
	"slices"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lxnetd/lxnetd/engine"
)

// portsAnyOrder compares forward ports as a set: LXD keeps them in the
// order sent, the adapter sorts them, and neither order means anything.
var portsAnyOrder = cmpopts.SortSlices(func(a, b engine.ForwardPort) bool {
	return a.Protocol+"/"+a.ListenPort < b.Protocol+"/"+b.ListenPort
})

// forwards: a forward lists as created (ports in any order, port lists
// and ranges as written, an empty target port stays empty), an update
// replaces it whole (forwards have no ETag), a second forward on the same
// listen address is refused and so is a target outside the network's
// subnet, writes to a forward that is gone fail with
// ErrNotFound, and deleting the network takes its forwards along.
func forwards(s *suite) {
	n, cidr := s.createBridge(nil)
	f := engine.Forward{
		Network: n.Name, ListenAddress: s.env.FloatingIP(s.T), Description: "conformance",
		Config: map[string]string{"user.conformance": "yes"},
		Ports: []engine.ForwardPort{
			{Protocol: "tcp", ListenPort: "80", TargetAddress: host(cidr, 20), TargetPort: "8080"},
			{Protocol: "tcp", ListenPort: "443,8443", TargetAddress: host(cidr, 20)},
			{Protocol: "udp", ListenPort: "5000-5010", TargetAddress: host(cidr, 21), Description: "range"},
		},
	}
	s.createForward(f)
	if diff := cmp.Diff([]engine.Forward{f}, s.forwards(n.Name), portsAnyOrder); diff != "" {
		s.Errorf("listed forwards (-sent +listed):\n%s", diff)
	}

	upd := f
	upd.Ports = slices.Clone(f.Ports[1:])
	upd.Config = withKey(f.Config, "target_address", host(cidr, 22))
	upd.Description = "updated"
	s.must("UpdateForward", s.r.UpdateForward(s.ctx, upd))
	if diff := cmp.Diff([]engine.Forward{upd}, s.forwards(n.Name), portsAnyOrder); diff != "" {
		s.Errorf("forwards after the update (-sent +listed):\n%s", diff)
	}
	s.wantRefused("CreateForward on a listen address that has one", s.r.CreateForward(s.ctx, f))
	// A cluster member named on a standalone server: LXD answers 404
	// "Cluster member not found", and nothing changes.
	_, err := s.r.GetForward(s.ctx, n.Name, f.ListenAddress, "no-such-member")
	s.wantNotFound("GetForward on a cluster member of a standalone server", err)
	s.wantNotFound("DeleteForward on a cluster member of a standalone server", s.r.DeleteForward(s.ctx, n.Name, f.ListenAddress, "no-such-member"))
	outside := upd
	outside.Ports = []engine.ForwardPort{{Protocol: "tcp", ListenPort: "80", TargetAddress: host(s.env.Subnet(s.T), 20)}}
	s.wantRefused("UpdateForward with a target outside the network's subnet", s.r.UpdateForward(s.ctx, outside))
	if diff := cmp.Diff([]engine.Forward{upd}, s.forwards(n.Name), portsAnyOrder); diff != "" {
		s.Errorf("forwards after a refused create (-expected +listed):\n%s", diff)
	}

	s.must("DeleteForward", s.r.DeleteForward(s.ctx, n.Name, f.ListenAddress, ""))
	if fw := s.forwards(n.Name); len(fw) != 0 {
		s.Errorf("forwards after the delete: %+v", fw)
	}
	s.wantNotFound("DeleteForward of a deleted forward", s.r.DeleteForward(s.ctx, n.Name, f.ListenAddress, ""))
	s.wantNotFound("UpdateForward of a deleted forward", s.r.UpdateForward(s.ctx, upd))

	s.createForward(f)
	s.must("DeleteNetwork with a forward", s.r.DeleteNetwork(s.ctx, n.Name))
	_, err = s.r.ListForwards(s.ctx, n.Name)
	s.wantNotFound("ListForwards of the deleted network", err)
}

// forwardNeedsCapableNetwork: forwards exist only on bridge (and OVN)
// networks; on another managed network (a macvlan on the suite's bridge)
// every forward call is refused; and a network that another names as its
// parent is not deleted. (LXD lists the macvlan network in the parent's
// used_by; that is not checked: the engine plans only instances and
// profiles as users.)
func forwardNeedsCapableNetwork(s *suite) {
	b, _ := s.createBridge(nil)
	mv := engine.Network{Name: s.env.Name(s.T, "net"), Type: "macvlan", Config: map[string]string{"parent": b.Name}}
	s.cleanup("network "+mv.Name, func(ctx context.Context) error { return s.r.DeleteNetwork(ctx, mv.Name) })
	s.must("CreateNetwork macvlan", s.r.CreateNetwork(s.ctx, mv))
	got := s.mustNetwork(mv.Name)
	if !got.Managed || got.Type != "macvlan" || !cmp.Equal(got.Config, mv.Config) {
		s.Errorf("listed macvlan network: managed %v type %q config %v", got.Managed, got.Type, got.Config)
	}
	s.wantRefused("DeleteNetwork of a parent network", s.r.DeleteNetwork(s.ctx, b.Name))
	s.mustNetwork(b.Name)

	_, err := s.r.ListForwards(s.ctx, mv.Name)
	s.wantRefused("ListForwards of a macvlan network", err)
	// Nothing to clean up should the create succeed: the network's delete
	// takes its forwards along (see forwards).
	f := engine.Forward{Network: mv.Name, ListenAddress: s.env.FloatingIP(s.T), Config: map[string]string{}}
	s.wantRefused("CreateForward on a macvlan network", s.r.CreateForward(s.ctx, f))
	s.wantRefused("UpdateForward on a macvlan network", s.r.UpdateForward(s.ctx, f))
	s.wantRefused("DeleteForward on a macvlan network", s.r.DeleteForward(s.ctx, f.Network, f.ListenAddress, ""))
}
