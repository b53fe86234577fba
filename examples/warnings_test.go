//go:build integration

package examples_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestOrphanAndBlockerWarnings runs the real binary against the sandbox: a
// node removed from the configuration while delete_instances = false is
// kept and reported as an orphan warning that says how to delete it, and
// then the removed network it uses is reported as a blocked delete. Neither
// plan nor apply ever says LXD matches the configuration, and
// plan --detailed-exitcode exits 0 for warnings alone (apply would do
// nothing) and 2 once there is a change besides them.
func TestOrphanAndBlockerWarnings(t *testing.T) {
	t.Parallel()
	d := sandbox.Primary(t)
	bridge, node := sandbox.UniqueName(t, "lxw"), sandbox.UniqueName(t, "wn")
	prof, keep := sandbox.UniqueName(t, "wp"), sandbox.UniqueName(t, "wk")
	subnet := sandbox.AllocSubnet(t)
	owner := "t-" + node
	c := cli{t: t, d: d}
	t.Cleanup(func() {
		// Whatever happened, remove everything of this owner; the settings
		// (not flags) let the delete gate pass on any version of apply.
		d := t.TempDir()
		body := fmt.Sprintf("lxnet {\n  owner            = %q\n  delete_instances = true\n  allow_empty      = true\n  max_deletes      = 100\n}\n", owner)
		if err := os.WriteFile(filepath.Join(d, "main.hcl"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, code := c.run("apply", "--yes", d); code != 0 {
			t.Errorf("cleanup apply: exit %d\n%s", code, out)
		}
	})

	lxnet := fmt.Sprintf("lxnet {\n  owner = %q\n}\n", owner)
	network := fmt.Sprintf(`
network "lan" {
  name = %q
  type = "bridge"
  config = {
    "ipv4.address" = "%s/24"
    "ipv6.address" = "none"
  }
}
`, bridge, sandbox.HostIP(subnet, 1))
	profile := fmt.Sprintf("\nprofile \"extra\" {\n  name = %q\n}\n", prof)
	// Something stays declared throughout, so no step empties the remote
	// (which the delete gate refuses without allow_empty).
	kept := fmt.Sprintf("\nprofile \"keep\" {\n  name = %q\n}\n", keep)
	nodeBlock := fmt.Sprintf(`
node "web" {
  name  = %q
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lan.name, name = "eth0" }
  }
}
`, node)
	dir := func(blocks ...string) string {
		t.Helper()
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, "main.hcl"), []byte(strings.Join(blocks, "")), 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	noMatch := func(what, out string) {
		t.Helper()
		if strings.Contains(out, "matches") {
			t.Fatalf("%s says LXD matches the configuration although it left something in place:\n%s", what, out)
		}
	}

	full := dir(lxnet, kept, network, profile, nodeBlock)
	c.apply(full)
	c.converged(full)

	// 1. The node block is removed: only an orphan warning.
	noNode := dir(lxnet, kept, network, profile)
	out, code := c.plan(noNode, "--detailed-exitcode")
	if code != 0 {
		t.Fatalf("plan with only an orphan: exit %d, want 0 (no changes):\n%s", code, out)
	}
	noMatch("plan with an orphan", out)
	for _, want := range []string{
		fmt.Sprintf(`Remote "local" (%s): no changes, 1 warning.`, c.d.Server(t)),
		"Warning: node." + node + " is orphaned: kept because delete_instances = false",
		"`delete_instances = true` in the lxnet block",
		"lxc delete --force " + node,
		"No changes to apply, but 1 warning needs attention",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("plan with an orphan lacks %q:\n%s", want, out)
		}
	}
	js := planJSON(t, c, noNode)
	if js.Changes || js.Summary.Warnings != 1 || len(js.Remotes) != 1 || len(js.Remotes[0].Warnings) != 1 ||
		js.Remotes[0].Warnings[0].Kind != "orphan" || js.Remotes[0].Warnings[0].Address != "node."+node ||
		!strings.Contains(js.Remotes[0].Warnings[0].Detail, "delete_instances = true") {
		t.Fatalf("plan --json with an orphan: %+v", js)
	}
	out = c.apply(noNode)
	noMatch("apply with an orphan", out)
	if !strings.Contains(out, "Warning: node."+node+" is orphaned") {
		t.Fatalf("apply with an orphan does not warn:\n%s", out)
	}
	if _, err := d.LxcErr("info", node); err != nil {
		t.Fatalf("the orphan %s was deleted although delete_instances = false: %v", node, err)
	}

	// 2. The network and a profile go too: the profile is deleted (a
	// change), the network's delete is blocked by the orphan using it.
	onlyKeep := dir(lxnet, kept)
	out, code = c.plan(onlyKeep, "--detailed-exitcode")
	if code != 2 {
		t.Fatalf("plan with a delete and warnings: exit %d, want 2:\n%s", code, out)
	}
	noMatch("plan with a delete, an orphan and a blocker", out)
	for _, want := range []string{
		"- profile." + prof,
		"Warning: node." + node + " is orphaned",
		"Warning: network." + bridge + " is not deleted",
		fmt.Sprintf("Still used by instance %q (orphaned; set delete_instances = true", node),
		"Plan: 0 to create, 0 to update, 1 to delete.",
		"2 warnings need attention (see above).",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("plan with a delete and warnings lacks %q:\n%s", want, out)
		}
	}
	js = planJSON(t, c, onlyKeep)
	var kinds []string
	for _, w := range js.Remotes[0].Warnings {
		kinds = append(kinds, w.Kind+" "+w.Address)
	}
	if !js.Changes || js.Summary.Warnings != 2 || strings.Join(kinds, ", ") != "orphan node."+node+", blocked network."+bridge {
		t.Fatalf("plan --json with a delete and warnings: %+v", js)
	}
	out = c.apply(onlyKeep)
	noMatch("apply with a delete, an orphan and a blocker", out)

	// 3. What is left is warnings only: exit 0, and still no "matches".
	out, code = c.plan(onlyKeep, "--detailed-exitcode")
	if code != 0 || !strings.Contains(out, "No changes to apply, but 2 warnings need attention") {
		t.Fatalf("plan with two warnings: exit %d, want 0:\n%s", code, out)
	}
	noMatch("plan with two warnings", out)
	if _, err := d.LxcErr("network", "show", bridge); err != nil {
		t.Fatalf("the blocked network %s is gone: %v", bridge, err)
	}
}

// warningsPlan is the part of plan --json this test reads.
type warningsPlan struct {
	Changes bool `json:"changes"`
	Summary struct {
		Warnings int `json:"warnings"`
	} `json:"summary"`
	Remotes []struct {
		Warnings []struct {
			Kind    string `json:"kind"`
			Address string `json:"address"`
			Summary string `json:"summary"`
			Detail  string `json:"detail"`
		} `json:"warnings"`
	} `json:"remotes"`
}

func planJSON(t *testing.T, c cli, dir string) warningsPlan {
	t.Helper()
	out, code := c.plan(dir, "--json")
	if code != 0 {
		t.Fatalf("plan --json: exit %d\n%s", code, out)
	}
	var js warningsPlan
	mustJSON(t, out, &js)
	return js
}
