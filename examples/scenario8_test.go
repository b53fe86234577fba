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
// the host through a proxy device on its own member's underlay address. It
// then moves a node to another member (a replace), drops the services
// (exactly the proxy devices go) and removes everything.
func TestScenario8Cluster(t *testing.T) {
	ms := sandbox.Cluster(t, 3)
	m1 := ms[0]
	// The cluster is the test's own: the bridge name need not be unique
	// host-wide (each member's bridge lives in that member's namespace).
	bridge, prefix := "lxncl8", sandbox.UniqueName(t, "s8")
	subnet := sandbox.AllocSubnet(t)
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
		"members": members(ms...),
	}}
	const dir = "8-cluster"
	markers := []string{bridge, prefix}
	t.Cleanup(func() { c.destroy(dir) })
	if got := inventory(t, m1, markers...); len(got) != 0 {
		t.Fatalf("objects exist before the test: %v", got)
	}

	out, code := c.plan(dir, "--detailed-exitcode")
	if code != 2 || !strings.Contains(out, `Remote "cluster"`) || !strings.Contains(out, `target`) {
		t.Fatalf("first plan: exit %d, want 2 with changes and targets:\n%s", code, out)
	}
	c.apply(dir)
	created := inventory(t, m1, markers...)
	want := []string{"network/" + bridge}
	for i := range ms {
		web := fmt.Sprintf("%s-web%d", prefix, i+1)
		want = append(want, "node/"+web, "node/"+web+"/device/eth0", "node/"+web+"/device/"+proxyDevice(t, m1, web))
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
	c.converged(dir)

	// web3 moves from m3 to m1 (and listens on m1's address): LXD cannot
	// change an instance's member in place, so the plan replaces it.
	moved := cli{t: t, d: m1, vars: maps.Clone(c.vars)}
	moved.vars["members"] = members(ms[0], ms[1], ms[0])
	out, code = moved.plan(dir, "--detailed-exitcode")
	if code != 2 || !strings.Contains(out, `target changes from "m3" to "m1"`) || !strings.Contains(out, "1 to create, 0 to update, 1 to delete") {
		t.Fatalf("plan with web3 on m1: exit %d, want a replace of web3:\n%s", code, out)
	}
	moved.apply(dir)
	moved.converged(dir)
	web3 := prefix + "-web3"
	if got := locations(t, m1, prefix)[web3]; got != "m1" {
		t.Fatalf("after the move %s is on %q, want m1", web3, got)
	}
	if page := sandbox.HTTPGet(t, fmt.Sprintf("http://%s:8082/", m1.Underlay), 60*time.Second); !strings.Contains(page, web3) {
		t.Fatalf("after the move m1:8082 answered %q, not %s's page", page, web3)
	}
	unreachable(t, fmt.Sprintf("%s:8082", ms[2].Underlay), web3)
	if got := inventory(t, m1, markers...); !slices.Equal(got, created) {
		t.Fatalf("after the move the objects are %v, want %v", got, created)
	}

	// Dropping the services removes exactly the proxy devices.
	noService := withoutBlock(t, dir, `service "web"`)
	moved.apply(noService)
	moved.converged(noService)
	var proxies []string
	for _, o := range created {
		if strings.Contains(o, "/device/") && !strings.HasSuffix(o, "/device/eth0") {
			proxies = append(proxies, o)
		}
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

// proxyDevice is the name of the one proxy device of an instance.
func proxyDevice(t *testing.T, d *sandbox.Daemon, inst string) string {
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
	if len(names) != 1 {
		t.Fatalf("%s has proxy devices %v, want one", inst, names)
	}
	return names[0]
}
