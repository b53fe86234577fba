package export

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
)

func names(set Set) []string {
	var out []string
	for _, n := range set.Networks {
		out = append(out, "network/"+n.Name)
	}
	for _, p := range set.Profiles {
		out = append(out, "profile/"+p.Name)
	}
	for _, i := range set.Instances {
		out = append(out, "node/"+i.Name)
	}
	for _, f := range set.Forwards {
		out = append(out, "forward/"+f.Network+"/"+f.ListenAddress)
	}
	return out
}

func exportFixture() observed {
	owned := map[string]string{engine.TagOwner: "edge"}
	nic := func(net string) map[string]map[string]string {
		return map[string]map[string]string{"eth0": {"type": "nic", "network": net}}
	}
	return observed{
		networks: []engine.Network{
			{Name: "eth0", Type: "physical"},
			{Name: "br-a", Type: "bridge", Managed: true, Config: map[string]string{}},
			{Name: "br-b", Type: "bridge", Managed: true, Config: map[string]string{}},
			{Name: "br-own", Type: "bridge", Managed: true, Config: owned},
		},
		profiles: []engine.Profile{
			{Name: "default", Devices: map[string]map[string]string{"root": {"type": "disk", "path": "/", "pool": "default"}}},
			{Name: "on-b", Devices: nic("br-b")},
			{Name: "tier"},
			{Name: "unused"},
		},
		instances: []engine.Instance{
			{Name: "a1", Profiles: []string{"default", "tier"}, Devices: nic("br-a")},
			{Name: "b1", Profiles: []string{"default", "on-b"}},
			{Name: "b2", Profiles: []string{"default"}, Devices: nic("br-b"), Config: owned},
			{Name: "loner", Profiles: []string{"default"}},
		},
		forwards: []engine.Forward{
			{Network: "br-a", ListenAddress: "198.51.100.1"},
			{Network: "br-b", ListenAddress: "198.51.100.2"},
			{Network: "br-b", ListenAddress: "198.51.100.3", Config: owned},
		},
	}
}

func TestSelectExport(t *testing.T) {
	tests := []struct {
		name     string
		networks []string
		declared *spec.Remote
		want     []string
		skipped  string
	}{
		{
			name: "everything unowned, no default profile",
			want: []string{"network/br-a", "network/br-b", "profile/on-b", "profile/tier", "profile/unused",
				"node/a1", "node/b1", "node/loner", "forward/br-a/198.51.100.1", "forward/br-b/198.51.100.2"},
			skipped: `3 owned by lxnetd, profile "default"`,
		},
		{
			name: "one network: its forwards, nodes attached directly or by profile, their profiles", networks: []string{"br-b"},
			want:    []string{"network/br-b", "profile/on-b", "node/b1", "forward/br-b/198.51.100.2"},
			skipped: `2 owned by lxnetd, profile "default"`,
		},
		{
			name: "declared objects are left out", networks: []string{"br-a"},
			declared: &spec.Remote{Instances: []spec.Instance{{Name: "a1"}}, Exposures: []spec.Exposure{{Via: spec.ViaForward, Network: "br-a", ListenAddress: "198.51.100.1"}}},
			want:     []string{"network/br-a"},
			skipped:  "2 already declared",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, skipped, err := selectExport(exportFixture(), tt.declared, tt.networks)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, names(set)); diff != "" {
				t.Errorf("selected (-want +got):\n%s", diff)
			}
			if got := strings.Join(skipped, ", "); got != tt.skipped {
				t.Errorf("skipped %q, want %q", got, tt.skipped)
			}
		})
	}
	if _, _, err := selectExport(exportFixture(), nil, []string{"eth0"}); err == nil || !strings.Contains(err.Error(), `--network "eth0": no managed network`) {
		t.Errorf("unmanaged --network: %v", err)
	}
}
