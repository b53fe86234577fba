package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/enginetest"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// fanError is LXD 5.0.2's answer to a fan bridge on a host whose iproute2
// has no fan-map (as the sandbox answers it; the usage text is cut short).
const fanError = `Failed to run: ip link add lxnfan-fan type vxlan id 15728640 dev eth0 local 10.231.217.1 dstport 0 fan-map 240.0.0.0/8:10.231.0.0/16: exit status 1 (vxlan: unknown command "fan-map"?
Usage: ... vxlan id VNI
		[ { group | remote } IP_ADDRESS ]`

// TestHostFeatureFailureOfAClusterCreate: a fan bridge whose create fails
// the way a cluster fails it (LXD keeps the network, ERRORED) is deleted
// again, the error names the missing feature, and the other network of the
// same apply is created. (A standalone LXD keeps nothing: see
// TestLXDHostFeatureRefusals.)
func TestHostFeatureFailureOfAClusterCreate(t *testing.T) {
	f := enginetest.New("local")
	f.Fail = func(op, name string) error {
		if op == "create-network" && name == "lxnfan" {
			// Called with the fake's lock held: what LXD keeps, ERRORED.
			f.Networks[name] = engine.Network{Name: name, Type: "bridge", Managed: true, Status: "Errored",
				Config: map[string]string{engine.TagOwner: "o", "bridge.mode": "fan"}, ETag: "e"}
			return errors.New(fanError)
		}
		return nil
	}
	want := &spec.Remote{Name: "local", Networks: []spec.Network{
		{Meta: spec.Meta{Addr: "network.fan"}, Name: "lxnfan", Config: map[string]string{"bridge.mode": "fan"}},
		{Meta: spec.Meta{Addr: "network.plain"}, Name: "lxnplain", Config: map[string]string{"ipv4.address": "10.231.3.1/24"}},
	}}
	s := spec.Settings{Owner: "o"}
	res, err := engine.Apply(context.Background(), f, plan(t, f, want, s), engine.ApplyOptions{})
	var hf *engine.HostFeatureError
	if !errors.As(err, &hf) {
		t.Fatalf("apply: %v, want a HostFeatureError", err)
	}
	msg := err.Error()
	for _, s := range []string{`remote "local"`, `fan networking (bridge.mode = "fan")`, "fan-map in iproute2", "VXLAN tunnels",
		"LXD kept the network ERRORED; lxnetd deleted it", `unknown command "fan-map" …`} {
		if !strings.Contains(msg, s) {
			t.Errorf("error does not say %q:\n%s", s, msg)
		}
	}
	if strings.Contains(msg, "Usage:") {
		t.Errorf("error carries iproute2's usage text:\n%s", msg)
	}
	if _, kept := f.Networks["lxnfan"]; kept {
		t.Error("the ERRORED network is still there")
	}
	if _, ok := f.Networks["lxnplain"]; !ok || len(res.Done) != 1 || len(res.Failed) != 1 {
		t.Errorf("done %d, failed %d, networks %v: want the plain bridge created", len(res.Done), len(res.Failed), f.Networks)
	}
	if p := plan(t, f, want, s); len(p.Changes) != 1 || p.Changes[0].Action != engine.Create {
		t.Errorf("next plan: %v, want the fan bridge's create again", addrs(p))
	}
}

// TestErroredNetworkOfAnotherOwnerIsKept: only the network this apply
// created (its owner tag) is removed after a failed create; an unknown
// failure stays LXD's message.
func TestErroredNetworkOfAnotherOwnerIsKept(t *testing.T) {
	f := enginetest.New("local")
	f.Fail = func(op, name string) error {
		if op == "create-network" {
			f.Networks[name] = engine.Network{Name: name, Type: "bridge", Managed: true, Status: "Errored",
				Config: map[string]string{engine.TagOwner: "someone-else"}, ETag: "e"}
			return fmt.Errorf("Network %q already exists", name)
		}
		return nil
	}
	want := &spec.Remote{Name: "local", Networks: []spec.Network{{Meta: spec.Meta{Addr: "network.br"}, Name: "lxnbr"}}}
	_, err := engine.Apply(context.Background(), f, plan(t, f, want, spec.Settings{Owner: "o"}), engine.ApplyOptions{})
	var hf *engine.HostFeatureError
	if err == nil || errors.As(err, &hf) || !strings.Contains(err.Error(), `Network "lxnbr" already exists`) {
		t.Fatalf("apply: %v, want LXD's own error", err)
	}
	if _, kept := f.Networks["lxnbr"]; !kept {
		t.Error("another owner's network was deleted")
	}
}

// TestHostFeatureFailureOfAnUpdate: GRE added to an existing bridge fails
// (no gretap); the error says so, and nothing is deleted.
func TestHostFeatureFailureOfAnUpdate(t *testing.T) {
	f := enginetest.New("local")
	s := spec.Settings{Owner: "o"}
	want := &spec.Remote{Name: "local", Networks: []spec.Network{{Meta: spec.Meta{Addr: "network.br"}, Name: "lxnbr",
		Config: map[string]string{"ipv4.address": "10.231.3.1/24"}}}}
	apply(t, f, plan(t, f, want, s))
	f.Fail = func(op, name string) error {
		if op == "update-network" {
			return errors.New("Failed to run: ip link add lxnbr-g type gretap local 10.0.0.1 remote 10.0.0.2: exit status 2 (Error: Unknown device type.)")
		}
		return nil
	}
	want.Networks[0].Config["tunnel.g.protocol"] = "gre"
	_, err := engine.Apply(context.Background(), f, plan(t, f, want, s), engine.ApplyOptions{})
	var hf *engine.HostFeatureError
	if !errors.As(err, &hf) || hf.Aftermath != "" || !strings.Contains(err.Error(), "gretap device type (module ip_gre)") {
		t.Fatalf("apply: %v, want a HostFeatureError about gretap", err)
	}
	if _, ok := f.Networks["lxnbr"]; !ok {
		t.Error("the bridge is gone after a failed update")
	}
}

// TestOpenvSwitchFailures classifies LXD 5.0.2's answers to creating an
// Open vSwitch bridge (as seen in the sandbox: no OVS installed, installed
// but not started, started without the kernel module; wrapped as the LXD
// adapter wraps them) and leaves other errors and Linux bridges alone.
func TestOpenvSwitchFailures(t *testing.T) {
	ovs := map[string]string{"bridge.driver": "openvswitch"}
	for _, tc := range []struct {
		cfg  map[string]string
		lxd  string
		want string // in the hint; "" for LXD's error as it is
	}{
		{ovs, "Open vSwitch isn't installed on this system", "not installed"},
		{ovs, "Failed to run: ovs-vsctl add-br ovs0: exec: \"ovs-vsctl\": executable file not found in $PATH", "not installed"},
		{ovs, "Failed to run: ovs-vsctl add-br ovs0: exit status 1 (ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed (No such file or directory))", "not running"},
		{ovs, "open /proc/sys/net/ipv6/conf/ovs0/disable_ipv6: no such file or directory", "no openvswitch module"},
		{ovs, "Failed to run: ip link set dev ovs0 up: Cannot find device \"ovs0\"", "userspace datapath"},
		{ovs, "Network not found", ""},
		{ovs, `Network "ovs0" not found`, ""},
		{ovs, "The network already exists", ""},
		{map[string]string{}, "open /proc/sys/net/ipv6/conf/ovs0/disable_ipv6: no such file or directory", ""},
	} {
		f := enginetest.New("local")
		lxdErr := fmt.Errorf("creating network %q: %w", "ovs0", errors.New(tc.lxd))
		f.Fail = func(op, name string) error {
			if op == "create-network" {
				return lxdErr
			}
			return nil
		}
		want := &spec.Remote{Name: "local", Networks: []spec.Network{{Meta: spec.Meta{Addr: "network.ovs"}, Name: "ovs0", Config: tc.cfg}}}
		_, err := engine.Apply(context.Background(), f, plan(t, f, want, spec.Settings{Owner: "o"}), engine.ApplyOptions{})
		if !errors.Is(err, lxdErr) {
			t.Errorf("%q: the error chain lost LXD's error: %v", tc.lxd, err)
		}
		var hf *engine.HostFeatureError
		switch {
		case tc.want == "" && errors.As(err, &hf):
			t.Errorf("%q: want LXD's error as it is, got %v", tc.lxd, err)
		case tc.want != "" && !errors.As(err, &hf):
			t.Errorf("%q: %v, want a HostFeatureError", tc.lxd, err)
		case tc.want != "" && (!strings.Contains(hf.Hint, tc.want) || !strings.Contains(err.Error(), `Open vSwitch bridges (bridge.driver = "openvswitch")`) ||
			!strings.Contains(err.Error(), "LXD kept nothing of the network")):
			t.Errorf("%q: %v, want the feature, a hint saying %q and what LXD kept", tc.lxd, err, tc.want)
		}
	}
}

// TestOpenvSwitchFailureOfAnUpdateAndADelete: a changed OVS bridge whose
// datapath vanished gets the hint; its delete failing the same way does not
// (removing bridge.driver is no advice for a delete).
func TestOpenvSwitchFailureOfAnUpdateAndADelete(t *testing.T) {
	f := enginetest.New("local")
	s := spec.Settings{Owner: "o"}
	want := &spec.Remote{Name: "local", Networks: []spec.Network{{Meta: spec.Meta{Addr: "network.ovs"}, Name: "ovs0",
		Config: map[string]string{"bridge.driver": "openvswitch", "ipv4.address": "10.231.3.1/24"}}}}
	apply(t, f, plan(t, f, want, s))
	f.Fail = func(op, name string) error {
		return errors.New("open /proc/sys/net/ipv6/conf/ovs0/disable_ipv6: no such file or directory")
	}
	want.Networks[0].Config["ipv4.address"] = "10.231.4.1/24"
	_, err := engine.Apply(context.Background(), f, plan(t, f, want, s), engine.ApplyOptions{})
	var hf *engine.HostFeatureError
	if !errors.As(err, &hf) || hf.Aftermath != "" || !strings.Contains(hf.Hint, "modprobe openvswitch") {
		t.Fatalf("update: %v, want a HostFeatureError about the datapath", err)
	}
	want.Networks = nil
	_, err = engine.Apply(context.Background(), f, plan(t, f, want, s), engine.ApplyOptions{})
	if err == nil || errors.As(err, &hf) {
		t.Fatalf("delete: %v, want LXD's error as it is", err)
	}
}
