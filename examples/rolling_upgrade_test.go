//go:build integration

package examples_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestScenario9RollingUpgrade upgrades the nodes of scenario 9 one group at
// a time from image v1 to v2 (two variants of the sandbox image whose httpd
// serves /version.txt): the plan replaces exactly the changed group's nodes
// with the image marked as forcing it, blocks that without delete_instances
// or --replace, and each replaced node comes back with its static address
// behind the same forward, serving the new image.
func TestScenario9RollingUpgrade(t *testing.T) {
	t.Parallel()
	d := sandbox.Primary(t)
	prefix, bridge := sandbox.UniqueName(t, "s9"), sandbox.UniqueName(t, "lx9")
	v1, v2 := prefix+"-v1", prefix+"-v2"
	fpV1 := d.ImportImageVariant(t, v1, map[string]string{"var/www/version.txt": "v1\n"})
	fpV2 := d.ImportImageVariant(t, v2, map[string]string{"var/www/version.txt": "v2\n"})
	fip := map[string]string{"a": sandbox.FloatingIP(t), "b": sandbox.FloatingIP(t)}
	images := func(a, b string) string { return fmt.Sprintf(`{ a = %q, b = %q }`, a, b) }
	c := cli{t: t, d: d, vars: map[string]string{
		"owner": "t-" + prefix, "bridge": bridge, "prefix": prefix, "subnet": sandbox.AllocSubnet(t),
		"floating_ip_by_group": fmt.Sprintf(`{ a = %q, b = %q }`, fip["a"], fip["b"]),
		"image_by_group":       images(v1, v1),
	}}
	with := func(kv ...string) cli {
		n := c
		n.vars = maps.Clone(c.vars)
		for i := 0; i < len(kv); i += 2 {
			n.vars[kv[i]] = kv[i+1]
		}
		return n
	}
	// Registered after the images, so it runs before their removal.
	t.Cleanup(func() { removeOwned(t, c) })
	const dir = "9-rolling-upgrade"
	nodes := map[string]struct {
		group string
		port  int
	}{"a1": {"a", 8011}, "a2": {"a", 8012}, "b1": {"b", 8021}, "b2": {"b", 8022}}
	// expect checks, through each node's ports on its group's floating IP
	// (a forward port and a proxy device), the image version every node
	// serves, and what LXD says it runs.
	expect := func(want map[string]string) {
		t.Helper()
		for _, n := range slices.Sorted(maps.Keys(nodes)) {
			for _, port := range []int{nodes[n].port, nodes[n].port + 1000} {
				url := fmt.Sprintf("http://%s:%d/version.txt", fip[nodes[n].group], port)
				if got := strings.TrimSpace(sandbox.HTTPGet(t, url, 60*time.Second)); got != want[n] {
					t.Fatalf("%s (node %s) serves %q, want %q", url, n, got, want[n])
				}
			}
			fp := map[string]string{"v1": fpV1, "v2": fpV2}[want[n]]
			if got := strings.TrimSpace(d.Lxc(t, "config", "get", prefix+"-"+n, "volatile.base_image")); got != fp {
				t.Fatalf("node %s runs image %s, want %s (%s)", n, got, fp, want[n])
			}
		}
	}

	c.apply(dir)
	expect(map[string]string{"a1": "v1", "a2": "v1", "b1": "v1", "b2": "v1"})
	c.converged(dir)
	macA1, ipA1 := nic(t, d, prefix+"-a1")

	// Group a to v2: the plan replaces a1 and a2, blocked without
	// delete_instances or --replace; nothing else is planned.
	up := with("image_by_group", images(v2, v1))
	out, _ := up.plan(dir)
	t.Logf("plan of group a without permission:\n%s", out)
	for _, want := range []string{`node.web["a1"] is not replaced`, `node.web["a2"] is not replaced`} {
		if !strings.Contains(out, want) {
			t.Fatalf("plan of group a without permission does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, `node.web["b`) || strings.Contains(out, "-/+") {
		t.Fatalf("plan of group a without permission plans more:\n%s", out)
	}
	js, _ := up.plan(dir, "--json")
	blockers := blockersJSON(t, js)
	if len(blockers) != 2 {
		t.Fatalf("plan --json of group a without permission: blockers %q", blockers)
	}
	for _, want := range []string{`node.web["a1"] is not replaced: image changes from "` + v1, "forces replacement",
		"delete_instances = true", `lxnetd apply --replace 'node.web["a1"]'`} {
		if !strings.Contains(blockers[0], want) {
			t.Fatalf("blocker %q does not say %q", blockers[0], want)
		}
	}
	up.must(0, append([]string{"apply", "--yes", dir}, up.varArgs()...)...)
	expect(map[string]string{"a1": "v1", "a2": "v1", "b1": "v1", "b2": "v1"})

	// --replace previews and applies the replace of group a.
	replaceA := []string{"--replace", `node.web["a1"]`, "--replace", `node.web["a2"]`}
	out, code := up.plan(dir, append([]string{"--detailed-exitcode"}, replaceA...)...)
	if code != 2 || strings.Count(out, "-/+") != 2 || strings.Count(out, "# forces replacement") != 2 ||
		!strings.Contains(out, "2 to create, 0 to update, 2 to delete") || strings.Contains(out, "is not replaced") {
		t.Fatalf("plan --replace of group a: exit %d:\n%s", code, out)
	}
	js, _ = up.plan(dir, append([]string{"--json"}, replaceA...)...)
	if forced := forcedKeysJSON(t, js); !slices.Equal(forced, []string{"node." + prefix + "-a1 image", "node." + prefix + "-a2 image"}) {
		t.Fatalf("plan --json: forced keys %v:\n%s", forced, js)
	}
	out = up.must(0, append(append([]string{"apply", "--yes", dir}, replaceA...), up.varArgs()...)...)
	t.Logf("apply --replace group a:\n%s", out)
	expect(map[string]string{"a1": "v2", "a2": "v2", "b1": "v1", "b2": "v1"})
	up.converged(dir)
	// The new a1 has a new MAC address and the same address: LXD's DHCP
	// reservation is by instance name.
	if mac, ip := nic(t, d, prefix+"-a1"); mac == macA1 || ip != ipA1 {
		t.Fatalf("replaced a1: MAC %s (was %s), address %s (was %s)", mac, macA1, ip, ipA1)
	}

	// Group b with delete_instances = true, one node at a time by --target.
	upB := with("image_by_group", images(v2, v2), "delete_instances", "true")
	out = upB.must(0, append([]string{"apply", "--yes", "--target", `node.web["b1"]`, dir}, upB.varArgs()...)...)
	if !strings.Contains(out, "1 to create, 0 to update, 1 to delete") {
		t.Fatalf("apply --target b1:\n%s", out)
	}
	expect(map[string]string{"a1": "v2", "a2": "v2", "b1": "v2", "b2": "v1"})
	upB.apply(dir)
	expect(map[string]string{"a1": "v2", "a2": "v2", "b1": "v2", "b2": "v2"})
	upB.converged(dir)
}

// removeOwned applies a configuration that declares nothing for c's owner
// and allows that, removing whatever the owner has, instances included.
func removeOwned(t *testing.T, c cli) {
	dir := t.TempDir()
	body := fmt.Sprintf("lxnet {\n  owner            = %q\n  delete_instances = true\n  allow_empty      = true\n  max_deletes      = 100\n}\n", c.vars["owner"])
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := c.run("apply", "--yes", dir); code != 0 {
		t.Errorf("removing what %s owns: exit %d\n%s", c.vars["owner"], code, out)
	}
}

// nic returns an instance's eth0 MAC address and its IPv4 address as the
// instance reports it.
func nic(t *testing.T, d *sandbox.Daemon, name string) (mac, ip string) {
	t.Helper()
	var st struct {
		Network map[string]struct {
			Hwaddr    string `json:"hwaddr"`
			Addresses []struct {
				Family, Address string
			} `json:"addresses"`
		} `json:"network"`
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		mustJSON(t, d.Lxc(t, "query", "/1.0/instances/"+name+"/state"), &st)
		for _, a := range st.Network["eth0"].Addresses {
			if a.Family == "inet" {
				return st.Network["eth0"].Hwaddr, a.Address
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has no IPv4 address on eth0: %+v", name, st)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// blockersJSON lists the blockers of a JSON plan, sorted.
func blockersJSON(t *testing.T, js string) []string {
	t.Helper()
	var p struct {
		Remotes []struct {
			Blockers []string `json:"blockers"`
		} `json:"remotes"`
	}
	if err := json.Unmarshal([]byte(js), &p); err != nil {
		t.Fatalf("decoding the JSON plan: %v\n%s", err, js)
	}
	var out []string
	for _, r := range p.Remotes {
		out = append(out, r.Blockers...)
	}
	slices.Sort(out)
	return out
}

// forcedKeysJSON lists "ADDRESS KEY" for every diff of a JSON plan marked
// as forcing a replacement.
func forcedKeysJSON(t *testing.T, js string) []string {
	t.Helper()
	var p struct {
		Remotes []struct {
			Changes []struct {
				Address string `json:"address"`
				Action  string `json:"action"`
				Diffs   []struct {
					Key    string `json:"key"`
					Forces bool   `json:"forces_replacement"`
				} `json:"diffs"`
			} `json:"changes"`
		} `json:"remotes"`
	}
	if err := json.Unmarshal([]byte(js), &p); err != nil {
		t.Fatalf("decoding the JSON plan: %v\n%s", err, js)
	}
	var out []string
	for _, r := range p.Remotes {
		for _, c := range r.Changes {
			for _, d := range c.Diffs {
				if d.Forces {
					out = append(out, c.Address+" "+d.Key)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}
