//go:build integration

package examples_test

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestScenario8Cluster applies one configuration to a 3-member LXD cluster
// (one remote, reached over HTTPS through m1): a bridge created on every
// member, one node placed on each member with target, each reached from
// the host through a proxy device on its own member's underlay address; a
// forward created on m2, the member of the node it points at, carrying
// traffic sent inside m2; and loopback proxies with one listen address on
// nodes of m1 and m2, each answering on its own member. It then moves web2
// to m3 (a replace of the node, and of its forward: deleted on m2, created
// on m3), drops the proxy service (exactly its devices go) and removes
// everything.
func TestScenario8Cluster(t *testing.T) {
	ms := sandbox.Cluster(t, 3)
	m1 := ms[0]
	// The cluster is the test's own: the bridge name need not be unique
	// host-wide (each member's bridge lives in that member's namespace).
	bridge, prefix := "lxncl8", sandbox.UniqueName(t, "s8")
	subnet := sandbox.AllocSubnet(t)
	fip := sandbox.FloatingIP(t)
	members := func(placement ...*sandbox.Daemon) string {
		var items []string
		for _, m := range placement {
			items = append(items, fmt.Sprintf("{name=%q,address=%q}", m.Name, m.Underlay))
		}
		return "[" + strings.Join(items, ",") + "]"
	}
	c := cli{t: t, d: m1, vars: map[string]string{
		"owner": "t-" + prefix, "bridge": bridge, "prefix": prefix, "subnet": subnet,
		"address": m1.HTTPSAddress, "fingerprint": m1.ServerFingerprint,
		"client_cert": m1.ClientCert, "client_key": m1.ClientKey,
		"members": members(ms...), "floating_ip": fip,
	}}
	const dir = "8-cluster"
	markers := []string{bridge, prefix}
	t.Cleanup(func() { c.destroy(dir) })
	if got := inventory(t, m1, markers...); len(got) != 0 {
		t.Fatalf("objects exist before the test: %v", got)
	}

	out, code := c.plan(dir, "--detailed-exitcode")
	fwd := "forward." + bridge + "/" + fip
	if code != 2 || !strings.Contains(out, `Remote "cluster"`) || !strings.Contains(out, `target`) || !strings.Contains(out, fwd+"@m2") {
		t.Fatalf("first plan: exit %d, want 2 with changes, targets and the forward on m2:\n%s", code, out)
	}
	c.apply(dir)
	created := inventory(t, m1, markers...)
	want := []string{"network/" + bridge, "forward/" + bridge + "/" + fip + " tcp/80"}
	for i := range ms {
		web := fmt.Sprintf("%s-web%d", prefix, i+1)
		want = append(want, "node/"+web, "node/"+web+"/device/eth0")
		proxies := proxyDevices(t, m1, web)
		wantProxies := 2 // services web and local
		if i == 2 {
			wantProxies = 1 // web only
		}
		if len(proxies) != wantProxies {
			t.Fatalf("%s has proxy devices %v, want %d", web, proxies, wantProxies)
		}
		for _, p := range proxies {
			want = append(want, "node/"+web+"/device/"+p)
		}
	}
	slices.Sort(want)
	if !slices.Equal(created, want) {
		t.Fatalf("created %v, want %v", created, want)
	}
	// Each node is on its target member, as lxc says.
	if got, want := locations(t, m1, prefix), map[string]string{prefix + "-web1": "m1", prefix + "-web2": "m2", prefix + "-web3": "m3"}; !maps.Equal(got, want) {
		t.Fatalf("lxc list: nodes on %v, want %v", got, want)
	}
	// The bridge exists on every member, inside its namespace only.
	for _, m := range ms {
		var st struct{ State string }
		mustJSON(t, m1.Lxc(t, "query", "/1.0/networks/"+bridge+"/state?target="+m.Name), &st)
		if st.State != "up" {
			t.Fatalf("bridge %s on %s: state %q", bridge, m.Name, st.State)
		}
	}
	if _, err := net.InterfaceByName(bridge); err == nil {
		t.Fatalf("bridge %s is in the host's namespace", bridge)
	}
	// Each node's page, from the host, through its own member.
	for i, m := range ms {
		web := fmt.Sprintf("%s-web%d", prefix, i+1)
		url := fmt.Sprintf("http://%s:%d/", m.Underlay, 8080+i)
		if page := sandbox.HTTPGet(t, url, 60*time.Second); !strings.Contains(page, web) {
			t.Fatalf("%s answered %q, not %s's page", url, page, web)
		}
	}
	// The forward is on m2, where web2 runs: traffic to the floating IP
	// sent inside m2 reaches web2's httpd (each member's bridge is its own
	// island, and LXD's forward rules live in its member's namespace).
	web2 := prefix + "-web2"
	checks := time.Now()
	if got := forwardLocations(t, m1, bridge)[fip]; !slices.Equal(got, []string{"m2"}) {
		t.Fatalf("forward %s is on %v, want [m2]", fip, got)
	}
	if page := ms[1].HTTPGetFrom(t, "http://"+fip+"/", 60*time.Second); !strings.Contains(page, web2) {
		t.Fatalf("%s from inside m2 answered %q, not %s's page", fip, page, web2)
	}
	// One loopback listen address, a proxy on web1 (m1) and on web2 (m2):
	// each member's 127.0.0.1:8088 leads to its own node.
	for i, m := range ms[:2] {
		web := fmt.Sprintf("%s-web%d", prefix, i+1)
		if page := m.HTTPGetFrom(t, "http://127.0.0.1:8088/", 60*time.Second); !strings.Contains(page, web) {
			t.Fatalf("127.0.0.1:8088 inside %s answered %q, not %s's page", m.Name, page, web)
		}
	}
	t.Logf("the forward's and the loopback proxies' checks took %v", time.Since(checks).Round(time.Millisecond))
	c.converged(dir)

	// web2 moves from m2 to m3 (and listens on m3's address): LXD cannot
	// change an instance's member in place, so the plan replaces it, and
	// its forward, which follows it (deleted on m2, created on m3).
	moved := cli{t: t, d: m1, vars: maps.Clone(c.vars)}
	moved.vars["members"] = members(ms[0], ms[2], ms[2])
	out, code = moved.plan(dir, "--detailed-exitcode")
	if code != 2 || !strings.Contains(out, `target changes from "m2" to "m3"`) || !strings.Contains(out, "-/+ "+fwd+"@m3") ||
		!strings.Contains(out, "2 to create, 0 to update, 2 to delete") {
		t.Fatalf("plan with web2 on m3: exit %d, want a replace of web2 and of its forward:\n%s", code, out)
	}
	moved.apply(dir)
	moved.converged(dir)
	if got := locations(t, m1, prefix)[web2]; got != "m3" {
		t.Fatalf("after the move %s is on %q, want m3", web2, got)
	}
	if got := forwardLocations(t, m1, bridge)[fip]; !slices.Equal(got, []string{"m3"}) {
		t.Fatalf("after the move forward %s is on %v, want [m3]", fip, got)
	}
	if page := sandbox.HTTPGet(t, fmt.Sprintf("http://%s:8081/", ms[2].Underlay), 60*time.Second); !strings.Contains(page, web2) {
		t.Fatalf("after the move m3:8081 answered %q, not %s's page", page, web2)
	}
	unreachable(t, fmt.Sprintf("%s:8081", ms[1].Underlay), web2)
	checks = time.Now()
	for _, m := range ms[2:] {
		for _, url := range []string{"http://" + fip + "/", "http://127.0.0.1:8088/"} {
			if page := m.HTTPGetFrom(t, url, 60*time.Second); !strings.Contains(page, web2) {
				t.Fatalf("after the move %s inside %s answered %q, not %s's page", url, m.Name, page, web2)
			}
		}
	}
	t.Logf("after the move, the forward's checks took %v", time.Since(checks).Round(time.Millisecond))
	if got := inventory(t, m1, markers...); !slices.Equal(got, created) {
		t.Fatalf("after the move the objects are %v, want %v", got, created)
	}

	// Dropping the service removes exactly its proxy devices.
	noService := withoutBlock(t, dir, `service "web"`)
	moved.apply(noService)
	moved.converged(noService)
	var proxies []string
	for _, o := range created {
		if strings.Contains(o, "/device/lxnetd-web-") {
			proxies = append(proxies, o)
		}
	}
	if len(proxies) != 3 {
		t.Fatalf("service web's proxy devices %v, want one per node", proxies)
	}
	expectRemoved(t, created, inventory(t, m1, markers...), proxies)

	out, code = moved.destroy(dir)
	if code != 0 {
		t.Fatalf("destroy: exit %d\n%s", code, out)
	}
	if got := inventory(t, m1, markers...); len(got) != 0 {
		t.Fatalf("left behind after destroy: %v\n%s", got, out)
	}
}

// locations maps each instance whose name starts with prefix to its
// cluster member, as `lxc list` shows it.
func locations(t *testing.T, d *sandbox.Daemon, prefix string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(d.Lxc(t, "list", "--format", "csv", "-c", "nL")), "\n") {
		name, member, ok := strings.Cut(line, ",")
		if ok && strings.HasPrefix(name, prefix) {
			out[name] = member
		}
	}
	return out
}

// forwardLocations maps each listen address of a network's forwards to
// the cluster members that have a forward on it, as LXD lists them (in
// name order; LXD's list order means nothing).
func forwardLocations(t *testing.T, d *sandbox.Daemon, network string) map[string][]string {
	t.Helper()
	var fwds []struct {
		ListenAddress string `json:"listen_address"`
		Location      string `json:"location"`
	}
	mustJSON(t, d.Lxc(t, "query", "/1.0/networks/"+network+"/forwards?recursion=1"), &fwds)
	out := map[string][]string{}
	for _, f := range fwds {
		out[f.ListenAddress] = append(out[f.ListenAddress], f.Location)
	}
	for _, ms := range out {
		slices.Sort(ms)
	}
	return out
}

// proxyDevices are the names of an instance's proxy devices, sorted.
func proxyDevices(t *testing.T, d *sandbox.Daemon, inst string) []string {
	t.Helper()
	var i struct {
		Devices map[string]map[string]string `json:"devices"`
	}
	mustJSON(t, d.Lxc(t, "query", "/1.0/instances/"+inst), &i)
	var names []string
	for name, dev := range i.Devices {
		if dev["type"] == "proxy" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}
