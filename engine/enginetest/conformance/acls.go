package conformance

import (
	"context"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/lxnetd/lxnetd/engine"
)

func (s *suite) acl(name string) (engine.ACL, bool) {
	s.Helper()
	as := counted(s, "ListACLs", func() ([]engine.ACL, error) { return s.r.ListACLs(s.ctx) })
	return find(as, func(a engine.ACL) string { return a.Name }, name)
}

func (s *suite) mustACL(name string) engine.ACL {
	return listedOnce(s, "ACL", name, s.acl)
}

func (s *suite) createACL(a engine.ACL) engine.ACL {
	s.Helper()
	a.Name = s.nameOr(a.Name, "acl")
	create(s, "CreateACL", "ACL", a.Name, a, s.r.CreateACL, s.r.DeleteACL)
	return a
}

func aclUser(kind engine.Kind, name string) engine.Address {
	return engine.Address{Kind: kind, Name: name}
}

// sortedRules orders rules for a comparison as a set.
func sortedRules(rs []engine.ACLRule) []engine.ACLRule {
	out := slices.Clone(rs)
	slices.SortFunc(out, func(a, b engine.ACLRule) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// acls: an ACL lists with its rules as sent (a rule without a state gets
// "enabled"), its config and description, an ETag that behaves as etagCase
// says; a network naming a missing ACL is refused; it lists the networks
// whose security.acls name it, refuses to be deleted while they do, and goes once they stop.
func acls(s *suite) {
	a := s.createACL(engine.ACL{
		Description: "conformance",
		Config:      map[string]string{"user.conformance": "yes"},
		Ingress: []engine.ACLRule{
			{Action: "allow", Protocol: "tcp", DestinationPort: "80", State: "enabled"},
			{Action: "drop", Source: "10.231.0.0/16", Description: "no state given"},
		},
		Egress: []engine.ACLRule{{Action: "reject", Protocol: "udp", DestinationPort: "53", State: "disabled"}},
	})
	got := s.mustACL(a.Name)
	single(s, "GetACL", got, func() (engine.ACL, error) { return s.r.GetACL(s.ctx, a.Name) })
	_, err := s.r.GetACL(s.ctx, s.env.Name(s.T, "none"))
	s.wantNotFound("GetACL of a missing ACL", err)
	want := slices.Clone(a.Ingress)
	want[1].State = "enabled"
	if diff := cmp.Diff([]any{a.Description, a.Config, sortedRules(want), a.Egress},
		[]any{got.Description, got.Config, sortedRules(got.Ingress), got.Egress}); diff != "" {
		s.Errorf("listed ACL (-sent +listed):\n%s", diff)
	}
	s.wantUnused("listed ACL", got.UsedBy, got.ETag)
	s.wantRefused("CreateACL of an ACL that exists", s.r.CreateACL(s.ctx, a))
	etagCase[engine.ACL]{
		kind:   "ACL",
		get:    func() engine.ACL { return s.mustACL(a.Name) },
		update: func(x engine.ACL) error { return s.r.UpdateACL(s.ctx, x) },
		fields: func(x *engine.ACL) (*map[string]string, *string, *string) { return &x.Config, &x.Description, &x.ETag },
		blind: func(v string) engine.ACL {
			return engine.ACL{Name: a.Name, Ingress: a.Ingress[:1], Config: without(withKey(a.Config, "user.step", v), "user.conformance")}
		},
		equal: func(a, b engine.ACL) string {
			return cmp.Diff([]any{a.Description, a.Config, a.Ingress, a.Egress}, []any{b.Description, b.Config, b.Ingress, b.Egress})
		},
	}.check(s)
	if got := s.mustACL(a.Name); len(got.Ingress) != 1 || len(got.Egress) != 0 {
		s.Errorf("an update replaces the rules: listed %+v / %+v, want the one ingress rule sent", got.Ingress, got.Egress)
	}

	missing := engine.Network{Name: s.env.Name(s.T, "net"), Type: "bridge",
		Config: map[string]string{"ipv4.address": gateway(s.env.Subnet(s.T)), "ipv6.address": "none", engine.ACLsKey: a.Name + "-missing"}}
	s.cleanup("network "+missing.Name, func(ctx context.Context) error { return s.r.DeleteNetwork(ctx, missing.Name) })
	s.wantRefused("CreateNetwork naming a missing ACL", s.r.CreateNetwork(s.ctx, missing))

	// Only a network: LXD 5.0.2 accepts security.acls on OVN NICs only
	// ("Invalid device option" on a bridged NIC), and this sandbox has no OVN.
	n, _ := s.createBridge(map[string]string{engine.ACLsKey: a.Name})
	wantUsers := users(aclUser(engine.KindNetwork, n.Name))
	if got := s.mustACL(a.Name); !sameSet(got.UsedBy, wantUsers) {
		s.Errorf("ACL used by %v, want %v", got.UsedBy, wantUsers)
	}
	s.wantRefused("DeleteACL of an ACL in use", s.r.DeleteACL(s.ctx, a.Name))
	s.mustACL(a.Name)

	net := s.mustNetwork(n.Name)
	net.Config = without(net.Config, engine.ACLsKey)
	s.must("UpdateNetwork without security.acls", s.r.UpdateNetwork(s.ctx, net))
	if got := s.mustACL(a.Name); len(got.UsedBy) != 0 {
		s.Errorf("ACL still used by %v after its users stopped", got.UsedBy)
	}
	s.must("DeleteACL once unused", s.r.DeleteACL(s.ctx, a.Name))
	if _, ok := s.acl(a.Name); ok {
		s.Errorf("ACL %s still listed after DeleteACL", a.Name)
	}
	s.wantNotFound("UpdateACL of a missing ACL", s.r.UpdateACL(s.ctx, engine.ACL{Name: a.Name}))
	s.wantNotFound("DeleteACL of a missing ACL", s.r.DeleteACL(s.ctx, a.Name))
}
