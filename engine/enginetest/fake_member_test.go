package enginetest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/enginetest"
)

// The fake cluster answers as LXD 5.0.2's did on a 3-member sandbox
// cluster (LXD-NOTES): forwards per member, a write without a member
// reaching the first one, a read without one refused when two members
// have the listen address.
func TestFakeClusterForwards(t *testing.T) {
	ctx := context.Background()
	f := enginetest.New("c")
	f.Members = []string{"m1", "m2"}
	if err := f.CreateNetwork(ctx, engine.Network{Name: "br0", Type: "bridge", Config: map[string]string{"ipv4.address": "10.231.1.1/24"}}); err != nil {
		t.Fatal(err)
	}
	fw := engine.Forward{Network: "br0", ListenAddress: "198.51.100.1", Config: map[string]string{}}
	if err := f.CreateForward(ctx, fw); err != nil { // lands on m1
		t.Fatal(err)
	}
	fw.Location = "m2"
	if err := f.CreateForward(ctx, fw); err != nil {
		t.Fatal(err)
	}
	if err := f.CreateForward(ctx, fw); err == nil {
		t.Error("a second forward on m2's listen address was created")
	}
	listed, _ := f.ListForwards(ctx, "br0")
	if len(listed) != 2 || listed[0].Location == listed[1].Location {
		t.Errorf("listed %+v, want one on each member", listed)
	}
	if _, err := f.GetForward(ctx, "br0", fw.ListenAddress, ""); err == nil || errors.Is(err, engine.ErrNotFound) {
		t.Errorf("GetForward without a member of a listen address on two members: %v, want a refusal", err)
	}
	if err := f.DeleteForward(ctx, "br0", fw.ListenAddress, ""); err != nil { // m1's
		t.Fatal(err)
	}
	if got, err := f.GetForward(ctx, "br0", fw.ListenAddress, ""); err != nil || got.Location != "m2" {
		t.Errorf("after deleting m1's: %+v, %v; want m2's", got, err)
	}
	if err := f.DeleteForward(ctx, "br0", fw.ListenAddress, "m3"); err == nil {
		t.Error("a delete on a member that does not exist succeeded")
	}
	if n, _ := f.GetNetwork(ctx, "br0"); len(n.Locations) != 2 {
		t.Errorf("cluster network locations %v, want both members", n.Locations)
	}
}
