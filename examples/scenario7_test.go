//go:build integration

package examples_test

import (
	"encoding/json"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestScenario7VXLAN applies one configuration over two remotes, two LXD
// daemons in their own network namespaces (two hosts as far as LXD
// networking goes) reached over HTTPS, and checks that a container on vm2
// fetches the page of a container on vm1 through the VXLAN tunnel, unicast
// and then multicast (an in-place switch of the same bridges).
func TestScenario7VXLAN(t *testing.T) {
	vm1, vm2 := sandbox.NamespacedPair(t)
	// The daemons are the test's own, so the bridge name need not be unique
	// host-wide; it must be short: LXD names the tunnel device BRIDGE-TUNNEL,
	// an interface name of at most 15 characters.
	bridge, prefix := "lxnvx7", sandbox.UniqueName(t, "s7")
	web, client := prefix+"-web", prefix+"-client"
	subnet := sandbox.AllocSubnet(t)
	c := cli{t: t, d: vm1, vars: map[string]string{
		"owner": "t-" + prefix, "bridge": bridge, "prefix": prefix, "subnet": subnet, "vni": "4242",
		"client_cert": vm1.ClientCert, "client_key": vm1.ClientKey,
		"vm1_address": vm1.HTTPSAddress, "vm1_fingerprint": vm1.ServerFingerprint, "vm1_underlay": vm1.Underlay,
		"vm2_address": vm2.HTTPSAddress, "vm2_fingerprint": vm2.ServerFingerprint, "vm2_underlay": vm2.Underlay,
	}}
	const dir = "7-vxlan"
	markers := []string{bridge, prefix}
	both := func() []string {
		var out []string
		for _, d := range []*sandbox.Daemon{vm1, vm2} {
			for _, o := range inventory(t, d, markers...) {
				out = append(out, d.Name+":"+o)
			}
		}
		return out
	}
	t.Cleanup(func() { c.destroy(dir) })

	if got := both(); len(got) != 0 {
		t.Fatalf("objects exist before the test: %v", got)
	}
	out, code := c.plan(dir, "--detailed-exitcode")
	if code != 2 || !strings.Contains(out, `Remote "vm1"`) || !strings.Contains(out, `Remote "vm2"`) {
		t.Fatalf("first plan: exit %d, want 2 with changes on both remotes:\n%s", code, out)
	}
	c.apply(dir)
	created := both()
	want := []string{
		"a:network/" + bridge, "a:node/" + web, "a:node/" + web + "/device/eth0",
		"b:network/" + bridge, "b:node/" + client, "b:node/" + client + "/device/eth0",
	}
	if !slices.Equal(created, want) {
		t.Fatalf("created %v, want %v", created, want)
	}

	// The bridge is a local island on each host but for the tunnel: the
	// client's lease comes from vm1's DHCP, and vm1's web page reaches it.
	for _, d := range []*sandbox.Daemon{vm1, vm2} {
		var st struct{ MTU int }
		mustJSON(t, d.Lxc(t, "query", "/1.0/networks/"+bridge+"/state"), &st)
		if st.MTU != 1300 {
			t.Fatalf("bridge %s on %s: MTU %d, want 1300", bridge, d.Name, st.MTU)
		}
		if _, err := net.InterfaceByName(bridge); err == nil {
			t.Fatalf("bridge %s is in the host's namespace: the daemons are not separate hosts", bridge)
		}
	}
	webIP := sandbox.HostIP(subnet, 10)
	clientIP := waitIPv4(t, vm2, client, subnet)
	// (LXD's list-leases shows only leases of its own instances; dnsmasq's file has all.)
	leases, err := os.ReadFile(filepath.Join(vm1.Dir, "networks", bridge, "dnsmasq.leases"))
	if err != nil || !strings.Contains(string(leases), " "+clientIP+" "+client+" ") {
		t.Fatalf("vm1's DHCP did not lease %s to %s on vm2: %v\n%s", clientIP, client, err, leases)
	}
	page := wgetFrom(t, vm2, client, "http://"+webIP+"/", 60*time.Second)
	if !strings.Contains(page, web) {
		t.Fatalf("%s (%s on vm2) fetched %q from %s, not %s's page", client, clientIP, page, webIP, web)
	}
	// And the way back: vm1's side sees the client on the bridge's far end.
	if out := vm1.Lxc(t, "exec", web, "--", "ping", "-c", "1", "-W", "5", clientIP); !strings.Contains(out, "1 packets received") {
		t.Fatalf("%s cannot ping %s across the tunnel:\n%s", web, clientIP, out)
	}
	c.converged(dir)

	// Another VNI is an in-place update on both hosts (LXD recreates the
	// tunnel device). While only vm1 has it, the two sides do not hear each
	// other — the page really travels through the tunnel; once both have
	// it, the tunnel carries traffic again.
	moved := cli{t: t, d: vm1, vars: maps.Clone(c.vars)}
	moved.vars["vni"] = "4243"
	out, code = moved.plan(dir, "--detailed-exitcode")
	if code != 2 || !strings.Contains(out, "0 to create, 2 to update, 0 to delete") || !strings.Contains(out, "tunnel.lxn.id") {
		t.Fatalf("plan with another VNI: exit %d, want two in-place updates:\n%s", code, out)
	}
	moved.must(0, append([]string{"apply", "--yes", "--target", "remote.vm1", dir}, moved.varArgs()...)...)
	if out, err := vm2.LxcErr("exec", client, "--", "timeout", "5", "wget", "-qO-", "http://"+webIP+"/"); err == nil {
		t.Fatalf("%s reached %s while the two ends of the tunnel had different VNIs: %q", client, webIP, out)
	}
	moved.apply(dir)
	moved.converged(dir)
	if page := wgetFrom(t, vm2, client, "http://"+webIP+"/", 60*time.Second); !strings.Contains(page, web) {
		t.Fatalf("after the VNI change %s fetched %q, not %s's page", client, page, web)
	}

	// Multicast instead of unicast (issue 11): tunnel.lxn.group on the
	// underlay interface replaces local/remote. One in-place update per host
	// — the whole new config in one PUT, so LXD never sees a tunnel with
	// neither remote nor group — and the page crosses the tunnel again.
	multicast := cli{t: t, d: vm1, vars: maps.Clone(moved.vars)} // VNI 4243: only the mode changes
	multicast.vars["tunnel_mode"] = "multicast"
	multicast.vars["group"] = "239.231.7.42"
	start := time.Now()
	out, code = multicast.plan(dir, "--detailed-exitcode")
	if code != 2 || !strings.Contains(out, "0 to create, 2 to update, 0 to delete") || !strings.Contains(out, "tunnel.lxn.group") {
		t.Fatalf("plan to multicast: exit %d, want two in-place updates setting tunnel.lxn.group:\n%s", code, out)
	}
	multicast.apply(dir)
	multicast.converged(dir)
	for _, d := range []*sandbox.Daemon{vm1, vm2} {
		var nw struct{ Config map[string]string }
		mustJSON(t, d.Lxc(t, "query", "/1.0/networks/"+bridge), &nw)
		if nw.Config["tunnel.lxn.group"] != "239.231.7.42" || nw.Config["tunnel.lxn.interface"] != "eth0" ||
			nw.Config["tunnel.lxn.local"] != "" || nw.Config["tunnel.lxn.remote"] != "" {
			t.Fatalf("bridge %s on %s after the switch to multicast: %v", bridge, d.Name, nw.Config)
		}
	}
	if page := wgetFrom(t, vm2, client, "http://"+webIP+"/", 60*time.Second); !strings.Contains(page, web) {
		t.Fatalf("over multicast %s fetched %q, not %s's page", client, page, web)
	}
	// And back to unicast, the same way.
	c.apply(dir)
	c.converged(dir)
	t.Logf("unicast -> multicast (traffic) -> unicast took %s", time.Since(start).Round(time.Millisecond))

	// Dropping the client removes exactly it, on vm2.
	noClient := withoutBlock(t, dir, `node "client"`)
	c.apply(noClient)
	c.converged(noClient)
	expectRemoved(t, created, both(), []string{"b:node/" + client, "b:node/" + client + "/device/eth0"})

	out, code = c.destroy(dir)
	if code != 0 {
		t.Fatalf("destroy: exit %d\n%s", code, out)
	}
	if got := both(); len(got) != 0 {
		t.Fatalf("left behind after destroy: %v\n%s", got, out)
	}
}

// waitIPv4 waits for the instance's eth0 to have an address in subnet and
// returns it.
func waitIPv4(t *testing.T, d *sandbox.Daemon, inst, subnet string) string {
	t.Helper()
	_, n, err := net.ParseCIDR(subnet)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var st struct {
			Network map[string]struct {
				Addresses []struct{ Family, Address string }
			}
		}
		if err := json.Unmarshal([]byte(d.Lxc(t, "query", "/1.0/instances/"+inst+"/state")), &st); err == nil {
			for _, a := range st.Network["eth0"].Addresses {
				if ip := net.ParseIP(a.Address); a.Family == "inet" && ip != nil && n.Contains(ip) {
					return a.Address
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s on %s got no address in %s within 60s (DHCP through the tunnel): %+v", inst, d.Name, subnet, st.Network["eth0"])
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// wgetFrom fetches url from inside an instance, retrying until it answers.
// (The image's busybox wget crashes with -T, so each try is bounded from
// outside instead.)
func wgetFrom(t *testing.T, d *sandbox.Daemon, inst, url string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		out, err := d.LxcErr("exec", inst, "--", "timeout", "5", "wget", "-qO-", url)
		if err == nil && out != "" {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("wget %s in %s on %s: %v %q", url, inst, d.Name, err, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
