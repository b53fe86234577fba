package lxd

import (
	"errors"
	"strings"
	"testing"

	"github.com/lxnetd/lxnetd/engine"
)

// TestOVSFailed classifies LXD 5.0.2's answers to creating an Open vSwitch
// bridge (as seen in the sandbox: no OVS installed, installed but not
// started, started without the kernel module) and leaves other errors and
// Linux bridges alone.
func TestOVSFailed(t *testing.T) {
	ovs := engine.Network{Name: "ovs0", Type: "bridge", Config: map[string]string{"bridge.driver": "openvswitch"}}
	native := engine.Network{Name: "ovs0", Type: "bridge", Config: map[string]string{}}
	for _, tc := range []struct {
		net  engine.Network
		lxd  string
		want string // in the hint; "" for no hint
	}{
		{ovs, "Open vSwitch isn't installed on this system", "not installed"},
		{ovs, "Failed to run: ovs-vsctl add-br ovs0: exec: \"ovs-vsctl\": executable file not found in $PATH", "not installed"},
		{ovs, "Failed to run: ovs-vsctl add-br ovs0: exit status 1 (ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed (No such file or directory))", "not running"},
		{ovs, "open /proc/sys/net/ipv6/conf/ovs0/disable_ipv6: no such file or directory", "no openvswitch module"},
		{ovs, "Failed to run: ip link set dev ovs0 up: Cannot find device \"ovs0\"", "userspace datapath"},
		{ovs, "Network not found", ""},
		{ovs, "The network already exists", ""},
		{native, "open /proc/sys/net/ipv6/conf/ovs0/disable_ipv6: no such file or directory", ""},
	} {
		lxdErr := errors.New(tc.lxd)
		got := ovsFailed(tc.net, lxdErr)
		if !errors.Is(got, lxdErr) {
			t.Errorf("%q: the error chain lost LXD's error: %v", tc.lxd, got)
		}
		hint := strings.TrimPrefix(got.Error(), tc.lxd)
		switch {
		case tc.want == "" && hint != "":
			t.Errorf("%q: want no hint, got %q", tc.lxd, hint)
		case tc.want != "" && !strings.Contains(hint, tc.want):
			t.Errorf("%q: hint %q does not say %q", tc.lxd, hint, tc.want)
		}
	}
}
