package lxd

import (
	"testing"

	"github.com/canonical/lxd/shared/api"
	"github.com/google/go-cmp/cmp"

	"github.com/lxnetd/lxnetd/engine"
)

// TestListOrderIsLXDIndependent: whatever order LXD lists networks, members
// and forward ports in, the adapter hands the engine one order; an
// instance's profiles keep theirs (it decides which profile's keys win).
func TestListOrderIsLXDIndependent(t *testing.T) {
	ns := []engine.Network{
		networkFromAPI(api.Network{Name: "br1", Locations: []string{"m2", "m3", "m1"}}),
		networkFromAPI(api.Network{Name: "br0"}),
	}
	sortNetworks(ns)
	if ns[0].Name != "br0" || ns[1].Name != "br1" {
		t.Errorf("networks in order %s, %s", ns[0].Name, ns[1].Name)
	}
	if d := cmp.Diff([]string{"m1", "m2", "m3"}, ns[1].Locations); d != "" {
		t.Errorf("locations (-want +got):\n%s", d)
	}
	if ns[0].Locations != nil {
		t.Errorf("no locations became %q", ns[0].Locations)
	}

	f := forwardFromAPI("br0", api.NetworkForward{ListenAddress: "198.51.100.1",
		Ports: []api.NetworkForwardPort{
			{Protocol: "udp", ListenPort: "53", TargetAddress: "10.231.1.2"},
			{Protocol: "tcp", ListenPort: "8080", TargetAddress: "10.231.1.3"},
			{Protocol: "tcp", ListenPort: "443", TargetAddress: "10.231.1.2"},
		}})
	var ports []string
	for _, p := range f.Ports {
		ports = append(ports, p.Protocol+"/"+p.ListenPort)
	}
	if d := cmp.Diff([]string{"tcp/443", "tcp/8080", "udp/53"}, ports); d != "" {
		t.Errorf("forward ports (-want +got):\n%s", d)
	}

	i := instanceFromAPI(api.Instance{Name: "c1", Profiles: []string{"z", "default", "a"}})
	if d := cmp.Diff([]string{"z", "default", "a"}, i.Profiles); d != "" {
		t.Errorf("profiles were reordered (-want +got):\n%s", d)
	}
}
