package lxd

import (
	"testing"

	"github.com/canonical/lxd/shared/api"
	"github.com/google/go-cmp/cmp"
)

// TestListOrderIsLXDIndependent: whatever order LXD lists members, users and
// forward ports in, the adapter hands the engine one order; an instance's
// profiles keep theirs (it decides which profile's keys win).
func TestListOrderIsLXDIndependent(t *testing.T) {
	n := networkFromAPI(api.Network{Name: "br0", Locations: []string{"m2", "m3", "m1"},
		UsedBy: []string{"/1.0/profiles/web", "/1.0/instances/c2", "/1.0/instances/c1"}})
	if d := cmp.Diff([]string{"m1", "m2", "m3"}, n.Locations); d != "" {
		t.Errorf("locations (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"/1.0/instances/c1", "/1.0/instances/c2", "/1.0/profiles/web"}, n.UsedBy); d != "" {
		t.Errorf("used_by (-want +got):\n%s", d)
	}
	if n := networkFromAPI(api.Network{Name: "lo"}); n.Locations != nil || n.UsedBy != nil {
		t.Errorf("empty lists became %q %q", n.Locations, n.UsedBy)
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

	i := instanceFromAPI(api.InstanceFull{Instance: api.Instance{Name: "c1", Profiles: []string{"z", "default", "a"}}})
	if d := cmp.Diff([]string{"z", "default", "a"}, i.Profiles); d != "" {
		t.Errorf("profiles were reordered (-want +got):\n%s", d)
	}
}
