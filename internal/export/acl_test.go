package export

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lxnetd/lxnetd/config"
	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// TestExportACLs: exported ACLs load back as the same rules, and the
// network that attaches them refers to them (acl.NAME.name), so the
// configuration orders them before the network.
func TestExportACLs(t *testing.T) {
	set := Set{
		Remote: "local",
		Networks: []engine.Network{{Name: "br0", Type: "bridge", Managed: true,
			Config: map[string]string{"ipv4.address": "10.231.5.1/24", "security.acls": "web,ssh", "security.acls.default.ingress.action": "drop"}}},
		ACLs: []engine.ACL{
			{Name: "web", Description: "in", Config: map[string]string{"user.x": "1", engine.TagOwner: "someone"},
				Ingress: []engine.ACLRule{{Action: "allow", Protocol: "tcp", DestinationPort: "80,443", State: "enabled"}},
				Egress:  []engine.ACLRule{{Action: "drop", Destination: "10.0.0.0/8", State: "logged", Description: "no lan"}}},
			{Name: "ssh", Ingress: []engine.ACLRule{{Action: "allow", Source: "10.231.0.0/16", Protocol: "tcp", DestinationPort: "22", State: "enabled"}}},
		},
	}
	out := string(Render([]Set{set}))
	if !strings.Contains(out, `join(",", [acl.web.name, acl.ssh.name])`) {
		t.Errorf("security.acls is not written as references:\n%s", out)
	}
	if formatted, _ := config.Format("x.hcl", []byte(out)); string(formatted) != out {
		t.Errorf("export is not in canonical format:\n%s", formatted)
	}
	cfg := mustLoad(t, map[string]string{"exported.hcl": out}, config.Options{})
	r := cfg.Remotes["local"]
	if len(r.ACLs) != 2 || r.Networks[0].Config["security.acls"] != "web,ssh" {
		t.Fatalf("loaded: %+v / %+v\n%s", r.ACLs, r.Networks, out)
	}
	want := []spec.ACL{
		{Meta: spec.Meta{Addr: "acl.ssh", Adopt: true}, Name: "ssh",
			Ingress: []spec.ACLRule{{Action: "allow", Source: "10.231.0.0/16", Protocol: "tcp", DestinationPort: "22", State: "enabled"}}},
		{Meta: spec.Meta{Addr: "acl.web", Adopt: true}, Name: "web", Description: "in", Config: map[string]string{"user.x": "1"},
			Ingress: []spec.ACLRule{{Action: "allow", Protocol: "tcp", DestinationPort: "80,443", State: "enabled"}},
			Egress:  []spec.ACLRule{{Action: "drop", Destination: "10.0.0.0/8", State: "logged", Description: "no lan"}}},
	}
	if diff := cmp.Diff(want, r.ACLs, cmpopts.IgnoreTypes(spec.Pos{}), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("loaded ACLs (-want +got):\n%s", diff)
	}
}

// TestSelectACLs: owned and declared ACLs are not exported; with
// --network only the ACLs the selected objects attach are.
func TestSelectACLs(t *testing.T) {
	obs := observed{
		networks: []engine.Network{
			{Name: "br0", Managed: true, Config: map[string]string{"security.acls": "a"}},
			{Name: "br1", Managed: true, Config: map[string]string{}},
		},
		acls: []engine.ACL{{Name: "a"}, {Name: "b"}, {Name: "mine", Config: map[string]string{engine.TagOwner: "x"}}, {Name: "decl"}},
	}
	declared := &spec.Remote{ACLs: []spec.ACL{{Name: "decl"}}}
	names := func(set Set) []string {
		var out []string
		for _, a := range set.ACLs {
			out = append(out, a.Name)
		}
		return out
	}
	set, _, err := selectExport(obs, declared, nil)
	if err != nil || !cmp.Equal(names(set), []string{"a", "b"}) {
		t.Errorf("all: %v %v", names(set), err)
	}
	set, _, err = selectExport(obs, declared, []string{"br0"})
	if err != nil || !cmp.Equal(names(set), []string{"a"}) {
		t.Errorf("--network br0: %v %v", names(set), err)
	}
}
