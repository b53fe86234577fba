package daemon

import (
	"testing"

	"github.com/lxnetd/lxnetd/engine/spec"
)

func TestRelevance(t *testing.T) {
	r := &spec.Remote{
		Networks:  []spec.Network{{Name: "br0"}},
		Profiles:  []spec.Profile{{Name: "web", Devices: map[string]spec.Device{"eth0": {"type": "nic", "network": "br1"}}}},
		Instances: []spec.Instance{{Name: "web1", Profiles: []string{"default", "web"}, Network: "br2"}},
		Forwards:  []spec.Forward{{Network: "br3", Ports: []spec.ForwardPort{{TargetNode: "web2"}}}},
		Exposures: []spec.Exposure{{Instance: "web3", Network: "br4"}},
	}
	rel := newRelevance(r)
	for src, want := range map[string]bool{
		"/1.0/networks/br0":                          true,
		"/1.0/networks/br1":                          true,
		"/1.0/networks/br2":                          true,
		"/1.0/networks/br3/forwards/198.51.100.10":   true,
		"/1.0/networks/br4":                          true,
		"/1.0/networks/other":                        false,
		"/1.0/networks/other/forwards/198.51.100.10": false,
		"/1.0/profiles/web":                          true,
		"/1.0/profiles/default":                      true,
		"/1.0/profiles/theirs":                       false,
		"/1.0/instances/web1":                        true,
		"/1.0/instances/web2?project=default":        true,
		"/1.0/instances/web3":                        true,
		"/1.0/instances/bk-123":                      false,
		"/1.0/images/abc":                            false,
		"/1.0/storage-pools/default":                 false,
		"/1.0/projects/p":                            true,
		"/1.0":                                       true,
		"garbage":                                    true,
		"/1.0/networks/b%72%30":                      true, // "br0", escaped
	} {
		if got := rel.wants(src); got != want {
			t.Errorf("wants(%q) = %v, want %v", src, got, want)
		}
	}
	if newRelevance(nil).wants("/1.0/networks/x") {
		t.Error("an empty desired set wants network events")
	}
}
