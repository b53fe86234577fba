//go:build integration

package examples_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestScenario5MultiRemote spreads nodes over the sandbox's two daemons by a
// values list (primary through its unix socket: the sandbox gives it no HTTPS
// listener; secondary over HTTPS with a client certificate and a pinned
// server fingerprint), reaches each through its floating IP, then moves one
// node to the other host by changing its remote.
func TestScenario5MultiRemote(t *testing.T) {
	t.Parallel()
	p, s := sandbox.Primary(t), sandbox.Secondary(t)
	prefix := sandbox.UniqueName(t, "s5")
	brP, brS := sandbox.UniqueName(t, "lx5p"), sandbox.UniqueName(t, "lx5s")
	subP, subS := sandbox.AllocSubnet(t), sandbox.AllocSubnet(t)
	fipA, fipB := sandbox.FloatingIP(t), sandbox.FloatingIP(t)
	nodeA, nodeB := prefix+"-a", prefix+"-b"

	nodes := func(remoteA string, hostA int, remoteB string) string {
		return fmt.Sprintf(`[
  { name = %q, remote = %q, host = %d, floating_ip = %q },
  { name = %q, remote = %q, host = 10, floating_ip = %q },
]`, nodeA, remoteA, hostA, fipA, nodeB, remoteB, fipB)
	}
	c := cli{t: t, d: p, vars: map[string]string{
		"owner":   "t-" + prefix,
		"primary": fmt.Sprintf(`{ address = %q }`, "unix://"+p.Socket),
		"secondary": fmt.Sprintf(`{ address = %q, client_cert = %q, client_key = %q, server_fingerprint = %q }`,
			s.HTTPSAddress, s.ClientCert, s.ClientKey, s.ServerFingerprint),
		"lans": fmt.Sprintf(`{ primary = { bridge = %q, subnet = %q }, secondary = { bridge = %q, subnet = %q } }`,
			brP, subP, brS, subS),
		"nodes": nodes("primary", 10, "secondary"),
	}}
	with := func(kv ...string) cli {
		d := c
		d.vars = maps.Clone(c.vars)
		for i := 0; i < len(kv); i += 2 {
			d.vars[kv[i]] = kv[i+1]
		}
		return d
	}
	const dir = "5-multi-remote"
	markers := []string{prefix, brP, brS}
	both := func() (onP, onS []string) {
		return inventory(t, p, markers...), inventory(t, s, markers...)
	}
	t.Cleanup(func() {
		if out, code := c.destroy(dir); code != 0 {
			t.Errorf("cleanup destroy: exit %d\n%s", code, out)
		}
	})
	if onP, onS := both(); len(onP)+len(onS) != 0 {
		t.Fatalf("objects exist before the test: %v %v", onP, onS)
	}

	out, code := c.plan(dir, "--detailed-exitcode")
	if code != 2 || !strings.Contains(out, `Remote "primary"`) || !strings.Contains(out, `Remote "secondary"`) {
		t.Fatalf("first plan: exit %d, want 2 with both remotes:\n%s", code, out)
	}
	c.apply(dir)
	onP, onS := both()
	wantP := []string{"forward/" + brP + "/" + fipA + " tcp/80", "network/" + brP, "node/" + nodeA, "node/" + nodeA + "/device/eth0"}
	wantS := []string{"forward/" + brS + "/" + fipB + " tcp/80", "network/" + brS, "node/" + nodeB, "node/" + nodeB + "/device/eth0"}
	slices.Sort(wantP)
	slices.Sort(wantS)
	if !slices.Equal(onP, wantP) || !slices.Equal(onS, wantS) {
		t.Fatalf("after apply:\nprimary   %v, want %v\nsecondary %v, want %v", onP, wantP, onS, wantS)
	}
	for fip, node := range map[string]string{fipA: nodeA, fipB: nodeB} {
		if body := sandbox.HTTPGet(t, "http://"+fip+"/", 30*time.Second); !strings.Contains(body, node) {
			t.Fatalf("%s does not reach %s: %q", fip, node, body)
		}
	}
	c.converged(dir)

	// Move node a to the secondary host (a new address in its subnet).
	moved := with("nodes", nodes("secondary", 11, "secondary"))

	// Without delete_instances the old instance is only reported.
	keep := with("nodes", nodes("secondary", 11, "secondary"), "delete_instances", "false")
	out, code = keep.plan(dir, "--json")
	if code != 0 {
		t.Fatalf("plan --json: exit %d\n%s", code, out)
	}
	got := planActions(t, out)
	want := map[string][]string{
		"primary":   {"delete forward." + brP + "/" + fipA, "orphan node." + nodeA},
		"secondary": {"create node." + nodeA, "create forward." + brS + "/" + fipA},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("move plan without delete_instances:\n got %v\nwant %v\n%s", got, want, out)
	}
	if out, _ := keep.plan(dir); !strings.Contains(out, "node."+nodeA+" is orphaned") {
		t.Fatalf("human plan does not show %s orphaned:\n%s", nodeA, out)
	}

	// With it (the example's default), the old one is deleted.
	out, code = moved.plan(dir, "--json")
	if code != 0 {
		t.Fatalf("plan --json: exit %d\n%s", code, out)
	}
	got = planActions(t, out)
	want["primary"] = []string{"delete forward." + brP + "/" + fipA, "delete node." + nodeA}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("move plan:\n got %v\nwant %v\n%s", got, want, out)
	}
	moved.apply(dir)
	onP, onS = both()
	wantP = []string{"network/" + brP}
	wantS = append(wantS, "forward/"+brS+"/"+fipA+" tcp/80", "node/"+nodeA, "node/"+nodeA+"/device/eth0")
	slices.Sort(wantS)
	if !slices.Equal(onP, wantP) || !slices.Equal(onS, wantS) {
		t.Fatalf("after the move:\nprimary   %v, want %v\nsecondary %v, want %v", onP, wantP, onS, wantS)
	}
	// The page through the floating IP now comes from the instance on the
	// secondary host: mark that instance's page and fetch the mark.
	mark := "moved-" + prefix
	s.Lxc(t, "exec", nodeA, "--", "sh", "-c", "echo "+mark+" > /var/www/index.html")
	if body := sandbox.HTTPGet(t, "http://"+fipA+"/", 30*time.Second); !strings.Contains(body, mark) {
		t.Fatalf("%s does not reach %s on the secondary host: %q", fipA, nodeA, body)
	}
	if addr := s.Lxc(t, "list", nodeA, "--format", "csv", "-c", "4"); !strings.Contains(addr, sandbox.HostIP(subS, 11)) {
		t.Fatalf("%s on the secondary host has address %q, want %s", nodeA, addr, sandbox.HostIP(subS, 11))
	}
	moved.converged(dir)

	// lxnetd destroy removes everything of the owner on both remotes.
	out, code = moved.destroy(dir)
	if code != 0 || !strings.Contains(out, `Remote "primary"`) || !strings.Contains(out, `Remote "secondary"`) {
		t.Fatalf("destroy: exit %d, want deletes on both remotes\n%s", code, out)
	}
	if onP, onS := both(); len(onP)+len(onS) != 0 {
		t.Fatalf("left behind after destroy: %v %v\n%s", onP, onS, out)
	}
}

// planActions reads plan --json into "action address" lists by remote, with
// orphans as "orphan NAME".
func planActions(t *testing.T, js string) map[string][]string {
	t.Helper()
	var plan struct {
		Remotes []struct {
			Remote  string   `json:"remote"`
			Orphans []string `json:"orphans"`
			Changes []struct {
				Address string `json:"address"`
				Action  string `json:"action"`
			} `json:"changes"`
		} `json:"remotes"`
	}
	mustJSON(t, js, &plan)
	out := map[string][]string{}
	for _, r := range plan.Remotes {
		for _, c := range r.Changes {
			out[r.Remote] = append(out[r.Remote], c.Action+" "+c.Address)
		}
		for _, o := range r.Orphans {
			out[r.Remote] = append(out[r.Remote], "orphan "+o)
		}
	}
	return out
}
