package config

import (
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// TestACLBlock: an acl block evaluates to its rules (state defaulted),
// for_each works, and acl.x.name is referable from a network's and a NIC's
// security.acls.
func TestACLBlock(t *testing.T) {
	fsys := fstest.MapFS{"main.hcl": {Data: []byte(`
acl "web" {
  description = "in"
  config      = { "user.team" = "web" }
  ingress {
    action           = "allow"
    protocol         = "tcp"
    destination_port = 80
  }
  egress {
    action      = "reject"
    destination = "10.0.0.0/8, 192.168.1.1-192.168.1.9"
    state       = "logged"
  }
}

acl "per" {
  for_each = toset(["a", "b"])
  name     = "per-${each.key}"
  ingress {
    action    = "allow"
    protocol  = "icmp4"
    icmp_type = 8
  }
}

network "lan" {
  name = "lxnacl1"
  config = {
    "ipv4.address"  = "10.231.77.1/24"
    "security.acls" = join(",", [acl.web.name, acl.per["a"].name])
  }
}

node "c1" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lan.name, "security.acls" = acl.per["b"].name, "security.acls.default.ingress.action" = "drop" }
  }
}
`)}}
	cfg, diags := LoadFS(fsys, Options{})
	if diags.HasErrors() {
		t.Fatalf("diagnostics: %v", diags)
	}
	r := cfg.Remotes["local"]
	want := []spec.ACL{
		{Meta: meta("acl.web"), Name: "web", Description: "in", Config: map[string]string{"user.team": "web"},
			Ingress: []spec.ACLRule{{Action: "allow", Protocol: "tcp", DestinationPort: "80", State: "enabled"}},
			Egress:  []spec.ACLRule{{Action: "reject", Destination: "10.0.0.0/8, 192.168.1.1-192.168.1.9", State: "logged"}}},
		{Meta: meta(`acl.per["a"]`), Name: "per-a", Ingress: []spec.ACLRule{{Action: "allow", Protocol: "icmp4", ICMPType: "8", State: "enabled"}}},
		{Meta: meta(`acl.per["b"]`), Name: "per-b", Ingress: []spec.ACLRule{{Action: "allow", Protocol: "icmp4", ICMPType: "8", State: "enabled"}}},
	}
	if diff := cmp.Diff(want, r.ACLs, cmpopts.IgnoreTypes(spec.Pos{})); diff != "" {
		t.Errorf("ACLs (-want +got):\n%s", diff)
	}
	if got := r.Networks[0].Config["security.acls"]; got != "web,per-a" {
		t.Errorf("network security.acls = %q", got)
	}
	if got := r.Instances[0].Devices["eth0"]["security.acls"]; got != "per-b" {
		t.Errorf("NIC security.acls = %q", got)
	}
	if p := r.ACLs[0].Ingress[0].Pos; p.File != "main.hcl" || p.Line != 5 {
		t.Errorf("rule position = %+v, want main.hcl line 5", p)
	}
}
