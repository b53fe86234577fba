package daemon

import (
	"testing"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// TestRelevanceACLs: events about declared ACLs, and ACLs a declared
// network or NIC attaches, wake the worker; others do not.
func TestRelevanceACLs(t *testing.T) {
	rel := newRelevance(&spec.Remote{
		ACLs:      []spec.ACL{{Name: "web"}},
		Networks:  []spec.Network{{Name: "br0", Config: map[string]string{"security.acls": "web, ssh"}}},
		Instances: []spec.Instance{{Name: "c1", Devices: map[string]spec.Device{"eth0": {"type": "nic", "network": "br0", "security.acls": "nic"}}}},
	})
	for name, want := range map[string]bool{"web": true, "ssh": true, "nic": true, "theirs": false} {
		ev := engine.Event{Object: engine.Address{Kind: engine.KindACL, Name: name}}
		if got := rel.wants(ev); got != want {
			t.Errorf("wants(acl %q) = %v, want %v", name, got, want)
		}
	}
}
