package lxd

import (
	"testing"

	"github.com/canonical/lxd/shared/api"
	"github.com/google/go-cmp/cmp"

	"github.com/lxnetd/lxnetd/engine"
)

func TestServerInfo(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  api.ServerEnvironment
		want engine.ServerInfo
	}{
		{"incus containers only", api.ServerEnvironment{Server: "incus", ServerVersion: "6.0.4", ServerName: "vm", Driver: "lxc"},
			engine.ServerInfo{Kind: "incus", Version: "6.0.4", Name: "vm", InstanceTypes: []string{"container"}}},
		{"lxd with qemu", api.ServerEnvironment{Server: "lxd", ServerVersion: "5.0.2", Driver: "lxc | qemu"},
			engine.ServerInfo{Kind: "lxd", Version: "5.0.2", InstanceTypes: []string{"container", "virtual-machine"}}},
		{"instance_types wins", api.ServerEnvironment{Server: "lxd", Driver: "lxc | qemu", InstanceTypes: []string{"container"}},
			engine.ServerInfo{Kind: "lxd", InstanceTypes: []string{"container"}}},
		{"old LXD says nothing", api.ServerEnvironment{},
			engine.ServerInfo{Kind: "lxd"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := serverInfo(&api.Server{Environment: tc.env})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("serverInfo (-want +got):\n%s", diff)
			}
		})
	}
	if s := (engine.ServerInfo{Kind: "incus", Version: "6.0.4"}).String(); s != "Incus 6.0.4" {
		t.Errorf("String() = %q", s)
	}
}
