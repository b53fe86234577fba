package engine_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/enginetest"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// aclRemote declares ACL "web" (allow tcp 80 in) attached to bridge br0,
// which drops every other ingress.
func aclRemote() *spec.Remote {
	return &spec.Remote{
		Name: "local",
		ACLs: []spec.ACL{{Meta: spec.Meta{Addr: "acl.web"}, Name: "web", Description: "web in",
			Ingress: []spec.ACLRule{{Action: "allow", Protocol: "tcp", DestinationPort: "80"}}}},
		Networks: []spec.Network{{Meta: spec.Meta{Addr: "network.br0"}, Name: "br0", Config: map[string]string{
			"ipv4.address": "10.231.1.1/24", "security.acls": "web", "security.acls.default.ingress.action": "drop"}}},
	}
}

// diffLines renders a change's diffs as "+ key = value" / "- key = value".
func diffLines(c *engine.Change) []string {
	var out []string
	for _, d := range c.Diffs {
		switch {
		case d.Before == nil:
			out = append(out, "+ "+d.Key+" = "+*d.After)
		case d.After == nil:
			out = append(out, "- "+d.Key+" = "+*d.Before)
		default:
			out = append(out, "~ "+d.Key+": "+*d.Before+" → "+*d.After)
		}
	}
	return out
}

func TestACLCreatedBeforeItsNetworkThenNoChanges(t *testing.T) {
	f := enginetest.New("local")
	s := spec.Settings{Owner: "o"}
	p := plan(t, f, aclRemote(), s)
	if got, want := addrs(p), []string{"+ acl.web", "+ network.br0"}; !slices.Equal(got, want) {
		t.Fatalf("plan = %v, want %v", got, want)
	}
	if !slices.Contains(diffLines(p.Changes[0]), "+ ingress = allow protocol=tcp destination_port=80") {
		t.Errorf("create diffs = %q", diffLines(p.Changes[0]))
	}
	apply(t, f, p)
	if i, j := slices.Index(f.Writes, "create-acl web"), slices.Index(f.Writes, "create-network br0"); i < 0 || j < i {
		t.Errorf("writes = %v: the ACL must be created before the network that attaches it", f.Writes)
	}
	if a := f.ACLs["web"]; a.Config[engine.TagOwner] != "o" || a.Ingress[0].State != "enabled" {
		t.Errorf("ACL as written: %+v", a)
	}
	if p := plan(t, f, aclRemote(), s); !p.Empty() {
		t.Errorf("second plan: %v", addrs(p))
	}
}

func TestACLRuleAddedAndRemovedIsOneLineEach(t *testing.T) {
	f := enginetest.New("local")
	s := spec.Settings{Owner: "o"}
	apply(t, f, plan(t, f, aclRemote(), s))

	d := aclRemote()
	d.ACLs[0].Ingress = append(d.ACLs[0].Ingress, spec.ACLRule{Action: "allow", Protocol: "tcp", DestinationPort: "8080", Description: "alt"})
	p := plan(t, f, d, s)
	if len(p.Changes) != 1 || p.Changes[0].Action != engine.Update {
		t.Fatalf("plan = %v", addrs(p))
	}
	if got, want := diffLines(p.Changes[0]), []string{"+ ingress = allow protocol=tcp destination_port=8080 description=alt"}; !slices.Equal(got, want) {
		t.Errorf("diffs = %q, want %q", got, want)
	}
	apply(t, f, p)

	// The first rule goes: one removal line, the other rule stays as it is.
	d.ACLs[0].Ingress = d.ACLs[0].Ingress[1:]
	p = plan(t, f, d, s)
	if got, want := diffLines(p.Changes[0]), []string{"- ingress = allow protocol=tcp destination_port=80"}; !slices.Equal(got, want) {
		t.Errorf("diffs = %q, want %q", got, want)
	}
	apply(t, f, p)
	if p := plan(t, f, d, s); !p.Empty() {
		t.Errorf("plan after apply: %v", addrs(p))
	}
}

func TestACLRuleOrderAndSpacingDoNotMatter(t *testing.T) {
	f := enginetest.New("local")
	s := spec.Settings{Owner: "o"}
	d := aclRemote()
	d.ACLs[0].Ingress = []spec.ACLRule{
		{Action: "allow", Protocol: "tcp", DestinationPort: "80, 443"},
		{Action: "drop", Source: "10.0.0.1,10.0.0.2", State: "enabled"},
	}
	apply(t, f, plan(t, f, d, s))
	// LXD stores what it normalised, in any order.
	a := f.ACLs["web"]
	a.Ingress = []engine.ACLRule{{Action: "drop", Source: "10.0.0.1,10.0.0.2", State: "enabled"}, {Action: "allow", Protocol: "tcp", DestinationPort: "80,443", State: "enabled"}}
	f.ACLs["web"] = a
	if p := plan(t, f, d, s); !p.Empty() {
		t.Errorf("plan: %v %q", addrs(p), diffLines(p.Changes[0]))
	}
}

func TestACLRuleDeletedByHandIsRestored(t *testing.T) {
	f := enginetest.New("local")
	s := spec.Settings{Owner: "o"}
	apply(t, f, plan(t, f, aclRemote(), s))
	a := f.ACLs["web"]
	a.Ingress = nil
	f.ACLs["web"] = a
	p := plan(t, f, aclRemote(), s)
	if got := addrs(p); !slices.Equal(got, []string{"~ acl.web"}) {
		t.Fatalf("plan = %v", got)
	}
	apply(t, f, p)
	if got := f.ACLs["web"].Ingress; len(got) != 1 || got[0].DestinationPort != "80" {
		t.Errorf("rules after apply: %+v", got)
	}
}

func TestUnownedACLIsNeverTouched(t *testing.T) {
	f := enginetest.New("local")
	s := spec.Settings{Owner: "o"}
	f.ACLs = map[string]engine.ACL{
		"web":   {Name: "web", Config: map[string]string{}, ETag: "1"},
		"other": {Name: "other", Config: map[string]string{"user.x": "1"}, ETag: "1"},
	}
	_, err := engine.NewPlan(context.Background(), f, aclRemote(), s, engine.PlanOptions{})
	if err == nil || !strings.Contains(err.Error(), `acl "web" already exists`) || !strings.Contains(err.Error(), "adopt = true") {
		t.Fatalf("plan error = %v, want the unowned ACL named", err)
	}
	// Not declared and not owned: left alone, also by a plan of nothing.
	if p := plan(t, f, &spec.Remote{Name: "local"}, s); !p.Empty() {
		t.Errorf("plan = %v", addrs(p))
	}
	d := aclRemote()
	d.ACLs[0].Adopt = true
	p := plan(t, f, d, s)
	if got := addrs(p); !slices.Equal(got, []string{"~ acl.web", "+ network.br0"}) {
		t.Fatalf("adopting plan = %v", got)
	}
}

func TestACLDeleteWaitsForItsUsers(t *testing.T) {
	f := enginetest.New("local")
	s := spec.Settings{Owner: "o"}
	apply(t, f, plan(t, f, aclRemote(), s))

	// The ACL block goes, the network still names it: blocked, not failed.
	d := aclRemote()
	d.ACLs = nil
	p := plan(t, f, d, s)
	if !p.Empty() || len(p.Blockers) != 1 || !strings.Contains(p.Blockers[0], `acl.web is not deleted: still used by network "br0"`) {
		t.Fatalf("plan = %v, blockers %q", addrs(p), p.Blockers)
	}
	// An unmanaged network using it blocks it as well.
	f.Networks["host0"] = engine.Network{Name: "host0", Type: "bridge", Managed: true, Config: map[string]string{"security.acls": "web"}}
	d.Networks[0].Config = map[string]string{"ipv4.address": "10.231.1.1/24"}
	p = plan(t, f, d, s)
	if got := addrs(p); !slices.Equal(got, []string{"~ network.br0"}) || len(p.Blockers) != 1 || !strings.Contains(p.Blockers[0], `network "host0"`) {
		t.Fatalf("plan = %v, blockers %q", got, p.Blockers)
	}
	delete(f.Networks, "host0")
	// The reference goes in the same plan: the network is updated first.
	p = plan(t, f, d, s)
	if got := addrs(p); !slices.Equal(got, []string{"~ network.br0", "- acl.web"}) {
		t.Fatalf("plan = %v", got)
	}
	apply(t, f, p)
	if _, ok := f.ACLs["web"]; ok {
		t.Error("ACL still there")
	}
}

func TestNICACLIsADependency(t *testing.T) {
	f := enginetest.New("local")
	s := spec.Settings{Owner: "o"}
	d := aclRemote()
	d.Instances = []spec.Instance{{Meta: spec.Meta{Addr: "node.c1"}, Name: "c1", Image: "busybox", State: "stopped",
		Devices: map[string]spec.Device{"eth0": {"type": "nic", "network": "br0", "security.acls": "web"}}}}
	f.Fail = func(op, name string) error {
		if op == "create-acl" {
			return context.DeadlineExceeded
		}
		return nil
	}
	res, err := engine.Apply(context.Background(), f, plan(t, f, d, s), engine.ApplyOptions{})
	if err == nil {
		t.Fatal("apply succeeded with a failing ACL create")
	}
	var notDone []string
	for _, c := range res.NotDone {
		notDone = append(notDone, c.Addr.String())
	}
	if !slices.Equal(notDone, []string{"network.br0", "node.c1"}) {
		t.Errorf("not done = %v, want the network and the node that attach the ACL", notDone)
	}
}

func TestMissingACLIsAPlanProblem(t *testing.T) {
	f := enginetest.New("local")
	d := aclRemote()
	d.ACLs = nil
	_, err := engine.NewPlan(context.Background(), f, d, spec.Settings{Owner: "o"}, engine.PlanOptions{})
	if err == nil || !strings.Contains(err.Error(), `network "br0" names network ACL "web", which does not exist`) {
		t.Fatalf("plan error = %v", err)
	}
	// An ACL that exists, owned or not, is fine to attach.
	f.ACLs = map[string]engine.ACL{"web": {Name: "web", Config: map[string]string{}}}
	if p := plan(t, f, d, spec.Settings{Owner: "o"}); !slices.Equal(addrs(p), []string{"+ network.br0"}) {
		t.Errorf("plan = %v", addrs(p))
	}
}
