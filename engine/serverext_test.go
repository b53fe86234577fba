package engine_test

import (
	"strings"
	"testing"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/enginetest"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// TestNetworkNeedsServerExtensions: an OVN network with a tunnel interface
// key is refused before any write by a server without the extensions, each
// named with the server's version; a server with them plans it.
func TestNetworkNeedsServerExtensions(t *testing.T) {
	d := &spec.Remote{Name: "local", Networks: []spec.Network{{
		Meta: spec.Meta{Addr: "network.overlay", Pos: spec.Pos{File: "net.hcl", Line: 3, Column: 1}}, Name: "lxnov", Type: "ovn",
		Config: map[string]string{"network": "up", "tunnel.t.interface": "eth0"}}}}
	old := engine.ServerInfo{Kind: "lxd", Version: "4.0.0", Extensions: []string{"network_forward"}}
	f := described{enginetest.New("local"), old}
	err := planErr(f, d)
	for _, want := range []string{
		`remote "local" (LXD 4.0.0) does not support ovn networks (API extension network_type_ovn)`,
		`remote "local" (LXD 4.0.0) does not support the tunnel key tunnel.t.interface (API extension network_vxlan_interface)`,
		`network "lxnov" needs it`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("plan: err = %v, want it to contain %q", err, want)
		}
	}
	if len(f.Writes) != 0 {
		t.Fatalf("writes before the refusal: %v", f.Writes)
	}
	current := old
	current.Version, current.Extensions = "5.0.2", []string{"network_forward", "network_type_ovn", "network_vxlan_interface"}
	if err := planErr(described{enginetest.New("local"), current}, d); err != nil {
		t.Fatalf("plan on a server with the extensions: %v", err)
	}
}
