package lxd

import (
	"testing"

	"github.com/lxnetd/lxnetd/engine"
)

func TestACLEventsAndUsers(t *testing.T) {
	if got, want := EventOf("/1.0/network-acls/web?project=default"), (engine.Event{Object: engine.Address{Kind: engine.KindACL, Name: "web"}}); got != want {
		t.Errorf("EventOf(network-acls) = %+v, want %+v", got, want)
	}
	got := aclUsedBy([]string{"/1.0/networks/br0", "/1.0/instances/c1", "/1.0/profiles/p?project=x", "/1.0/storage-pools/default"})
	want := []engine.Address{{Kind: engine.KindNetwork, Name: "br0"}, {Kind: engine.KindNode, Name: "c1"}, {Kind: engine.KindProfile, Name: "p"}}
	if len(got) != len(want) {
		t.Fatalf("aclUsedBy = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("aclUsedBy = %v, want %v", got, want)
		}
	}
}
