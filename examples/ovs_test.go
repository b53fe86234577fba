//go:build integration

package examples_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestScenario12OpenvSwitch applies examples/12-openvswitch to a private LXD
// daemon that uses the test's own Open vSwitch with the userspace datapath
// (this kernel has no openvswitch module; see sandbox.OpenvSwitch): the
// bridge is an OVS bridge, the container's NIC a port of it, HTTP from the
// host reaches the container over it, directly and through the network
// forward; a second plan is empty, a change by hand is planned and
// restored. Then, with the kernel datapath asked for, a second OVS bridge
// fails with the missing-datapath hint and leaves nothing. destroy removes
// the bridge from OVS.
func TestScenario12OpenvSwitch(t *testing.T) {
	start := time.Now()
	step := func(what string) { t.Logf("%6.1fs %s", time.Since(start).Seconds(), what) }
	ovs := sandbox.OpenvSwitch(t)
	step("private OVS up")
	d := sandbox.Private(t, sandbox.WithEnv(ovs.DaemonEnv()...))
	step("private LXD up")
	bridge, prefix, subnet, fip := sandbox.UniqueName(t, "lx12"), sandbox.UniqueName(t, "s12"), sandbox.AllocSubnet(t), sandbox.FloatingIP(t)
	c := cli{t: t, d: d, vars: map[string]string{"owner": "t-" + prefix, "bridge": bridge, "prefix": prefix, "subnet": subnet, "floating_ip": fip}}
	dir := "12-openvswitch"
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			c.destroy(dir)
		}
	})

	c.apply(dir)
	step("applied")
	if dp := strings.TrimSpace(ovs.Vsctl(t, "get", "bridge", bridge, "datapath_type")); dp != "netdev" {
		t.Fatalf("bridge %s: datapath_type %q, want netdev (is it an OVS bridge?)", bridge, dp)
	}
	if _, err := os.Stat("/sys/class/net/" + bridge + "/bridge"); err == nil {
		t.Fatalf("%s is a Linux bridge, want an Open vSwitch one", bridge)
	}
	// The containers' host-side veths are ports of the OVS bridge, the
	// worker's too (attached by nictype = "bridged", parent = the bridge).
	if ports := strings.Fields(ovs.Vsctl(t, "list-ports", bridge)); len(ports) != 2 || !strings.HasPrefix(ports[0], "veth") || !strings.HasPrefix(ports[1], "veth") {
		t.Fatalf("ports of %s: %v, want the two containers' veths", bridge, ports)
	}
	web, worker := prefix+"-web", prefix+"-worker"
	urls := map[string]string{
		"http://" + sandbox.HostIP(subnet, 10) + "/":     web,
		"http://" + fip + "/":                            web,
		"http://" + waitIPv4(t, d, worker, subnet) + "/": worker,
	}
	for url, node := range urls {
		if body := sandbox.HTTPGet(t, url, 30*time.Second); !strings.Contains(body, node) {
			t.Fatalf("%s does not reach %s over the OVS bridge: %q", url, node, body)
		}
	}
	step("traffic over the OVS bridge, direct and forwarded")
	c.converged(dir)

	// Drift: NAT turned off by hand is planned and restored like on any bridge.
	d.Lxc(t, "network", "set", bridge, "ipv4.nat", "false")
	if out := c.apply(dir); !strings.Contains(out, "ipv4.nat") || !strings.Contains(out, "1 to update") {
		t.Fatalf("apply after a change by hand does not plan to restore ipv4.nat:\n%s", out)
	}
	c.converged(dir)
	if got := strings.TrimSpace(d.Lxc(t, "network", "get", bridge, "ipv4.nat")); got != "true" {
		t.Fatalf("ipv4.nat after apply: %q, want true", got)
	}
	step("drift restored")

	// The same daemon and OVS, but bridges on the kernel datapath, which
	// this kernel lacks: what a host without the openvswitch module gives.
	ovs.KernelDatapath(t, true)
	name := ovsRefused(t, d, "no openvswitch module")
	if brs := ovs.Vsctl(t, "list-br"); strings.Contains(brs, name) {
		t.Fatalf("the failed bridge %s is still in OVS:\n%s", name, brs)
	}
	ovs.KernelDatapath(t, false)
	step("missing datapath refused")

	out, code := c.destroy(dir)
	if code != 0 {
		t.Fatalf("destroy: exit %d:\n%s", code, out)
	}
	destroyed = true
	if brs := strings.Fields(ovs.Vsctl(t, "list-br")); len(brs) != 0 {
		t.Fatalf("OVS bridges left after destroy: %v", brs)
	}
	if exec.Command("ip", "link", "show", bridge).Run() == nil {
		t.Fatalf("interface %s left after destroy", bridge)
	}
	step("destroyed")
}

// TestOpenvSwitchUnavailable applies an Open vSwitch bridge to the shared
// primary, whose host has no usable OVS (not installed, or installed but
// not started: .ci/run installs the package for the private OVS of
// TestScenario12OpenvSwitch and keeps it stopped host-wide): apply fails
// saying what is missing, and leaves nothing.
func TestOpenvSwitchUnavailable(t *testing.T) {
	ovsRefused(t, sandbox.Primary(t), "Open vSwitch is")
}

// ovsRefused applies a uniquely named OVS bridge to d, expects apply to fail
// with LXD's error and lxnetd's hint (containing want), and checks that
// neither LXD nor the host keeps anything of it. It returns the bridge's name.
func ovsRefused(t *testing.T, d *sandbox.Daemon, want string) string {
	t.Helper()
	name := sandbox.UniqueName(t, "lxovs")
	dir := t.TempDir()
	hcl := fmt.Sprintf(`lxnet {
  owner = "t-%s"
}

network "ovs" {
  name = %q
  config = {
    "bridge.driver" = "openvswitch"
    "ipv4.address"  = "none"
    "ipv6.address"  = "none"
  }
}
`, name, name)
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	c := cli{t: t, d: d}
	t.Cleanup(func() { c.destroy(dir) })
	out, code := c.run("apply", "--yes", dir)
	t.Logf("apply of an OVS bridge without a usable OVS (exit %d):\n%s", code, out)
	if code == 0 || !strings.Contains(out, want) || !strings.Contains(out, "bridge.driver") {
		t.Fatalf("apply: exit %d, want a failure that says %q and how to do without bridge.driver:\n%s", code, want, out)
	}
	if got, err := d.LxcErr("query", "/1.0/networks/"+name); err == nil {
		t.Fatalf("network %s remains after the failed create:\n%s", name, got)
	}
	if exec.Command("ip", "link", "show", name).Run() == nil {
		t.Fatalf("interface %s remains after the failed create", name)
	}
	// Nothing was created, so the next plan wants the create again.
	if out, code := c.plan(dir, "--detailed-exitcode"); code != 2 {
		t.Fatalf("plan after the failed apply: exit %d, want 2:\n%s", code, out)
	}
	return name
}
