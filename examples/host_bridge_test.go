//go:build integration

package examples_test

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestScenario11HostBridge applies examples/11-host-bridge on a host bridge
// the test creates (as the seed's host has its LAN bridge): the containers
// get their static addresses from raw.lxc, traffic crosses the bridge
// (host → each container, container → container), a second plan is empty,
// and lxnetd never touches the bridge, also not on destroy.
func TestScenario11HostBridge(t *testing.T) {
	t.Parallel()
	d := sandbox.Primary(t)
	br, prefix, subnet := sandbox.UniqueName(t, "lxhb"), sandbox.UniqueName(t, "s11"), sandbox.AllocSubnet(t)
	gw := sandbox.HostIP(subnet, 1)
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ip("link", "add", br, "type", "bridge")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", br).Run() })
	ip("addr", "add", gw+"/24", "dev", br)
	ip("link", "set", br, "up")

	fip := sandbox.FloatingIP(t)
	c := cli{t: t, d: d, vars: map[string]string{"owner": "t-" + prefix, "prefix": prefix, "host_bridge": br, "subnet": subnet, "floating_ip": fip}}
	dir := "11-host-bridge"
	t.Cleanup(func() { c.destroy(dir) })
	bridgeBefore := d.Lxc(t, "query", "/1.0/networks/"+br)

	c.apply(dir)
	a, b := prefix+"-a", prefix+"-b"
	for node, addr := range map[string]string{a: sandbox.HostIP(subnet, 10), b: sandbox.HostIP(subnet, 11)} {
		if body := sandbox.HTTPGet(t, "http://"+addr+"/", 30*time.Second); !strings.Contains(body, node) {
			t.Fatalf("http://%s/ over the host bridge does not reach %s: %q", addr, node, body)
		}
	}
	// Container to container, over the same bridge, and the default route
	// from raw.lxc points at the host's address on it.
	if got := d.Lxc(t, "exec", a, "--", "wget", "-q", "-O", "-", "http://"+sandbox.HostIP(subnet, 11)+"/"); !strings.Contains(got, b) {
		t.Fatalf("%s cannot reach %s over the bridge: %q", a, b, got)
	}
	if route := d.Lxc(t, "exec", a, "--", "ip", "route", "show", "default"); !strings.Contains(route, "via "+gw) {
		t.Fatalf("default route in %s: %q, want via %s", a, route, gw)
	}
	// The service's proxy device works for a node on the host bridge.
	if body := sandbox.HTTPGet(t, "http://"+fip+"/", 30*time.Second); !strings.Contains(body, a) {
		t.Fatalf("service proxy on %s does not reach %s: %q", fip, a, body)
	}
	c.converged(dir)

	out, code := c.destroy(dir)
	if code != 0 || strings.Contains(out, "network."+br) {
		t.Fatalf("destroy: exit %d, or it names the host bridge:\n%s", code, out)
	}
	if now := d.Lxc(t, "query", "/1.0/networks/"+br); now != bridgeBefore {
		t.Fatalf("the host bridge changed as LXD sees it:\n%s\n→\n%s", bridgeBefore, now)
	}
	if _, err := exec.Command("ip", "link", "show", br).CombinedOutput(); err != nil {
		t.Fatalf("the host bridge is gone after destroy: %v", err)
	}
}
