//go:build integration

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// forwardConfig is a bridge and one forward on fip with a port per entry of
// ports (listen port → last octet of the target in the bridge's subnet).
func forwardConfig(d *sandbox.Daemon, owner, bridge, subnet, fip string, ports ...int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "lxnet {\n  owner = %q\n}\n\nremote \"sb\" {\n  address = \"unix://%s\"\n}\n\n", owner, d.Socket)
	fmt.Fprintf(&b, "network \"lan\" {\n  name   = %q\n  config = { \"ipv4.address\" = %q, \"ipv6.address\" = \"none\" }\n}\n\n",
		bridge, sandbox.HostIP(subnet, 1)+"/24")
	fmt.Fprintf(&b, "forward \"fip\" {\n  network        = network.lan\n  listen_address = %q\n", fip)
	for _, p := range ports {
		fmt.Fprintf(&b, "  port {\n    listen_port    = %d\n    target_address = %q\n  }\n", p, sandbox.HostIP(subnet, p-70))
	}
	b.WriteString("}\n")
	return b.String()
}

// TestSavedPlan: plan --out saves a plan that apply FILE applies exactly;
// a forward port changed by hand, or a configuration file edited, after
// plan --out makes apply FILE refuse before any write, naming what changed.
func TestSavedPlan(t *testing.T) {
	t.Parallel()
	d := sandbox.Primary(t)
	bridge, prefix := sandbox.UniqueName(t, "lxs"), sandbox.UniqueName(t, "saved")
	owner, subnet, fip := "t-"+prefix, sandbox.AllocSubnet(t), sandbox.FloatingIP(t)
	dir, plans := t.TempDir(), t.TempDir()
	writeTestFile(t, dir, "main.hcl", forwardConfig(d, owner, bridge, subnet, fip, 80))
	t.Cleanup(func() {
		writeTestFile(t, dir, "main.hcl", fmt.Sprintf("lxnet {\n  owner = %q\n}\nremote \"sb\" {\n  address = \"unix://%s\"\n}\n", owner, d.Socket))
		_, _, _ = run(t, "apply", "--yes", "--allow-empty", dir)
	})
	if out, errs, code := run(t, "apply", "--yes", dir); code != 0 {
		t.Fatalf("first apply: exit %d\n%s%s", code, out, errs)
	}
	// ports lists the forward's ports as LXD holds them ("tcp/80→10.231.x.10").
	ports := func() []string {
		var fw struct {
			Ports []struct {
				Protocol      string `json:"protocol"`
				ListenPort    string `json:"listen_port"`
				TargetAddress string `json:"target_address"`
			} `json:"ports"`
		}
		if err := json.Unmarshal([]byte(d.Lxc(t, "query", "/1.0/networks/"+bridge+"/forwards/"+fip)), &fw); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range fw.Ports {
			out = append(out, fmt.Sprintf("%s/%s→%s", p.Protocol, p.ListenPort, p.TargetAddress))
		}
		slices.Sort(out)
		return out
	}
	port := func(n int) string { return fmt.Sprintf("tcp/%d→%s", n, sandbox.HostIP(subnet, n-70)) }
	addr := fmt.Sprintf("forward.%s/%s", bridge, fip)

	// A saved plan adding port 81, made stale by a port added by hand.
	writeTestFile(t, dir, "main.hcl", forwardConfig(d, owner, bridge, subnet, fip, 80, 81))
	stalePlan := filepath.Join(plans, "stale.plan")
	out, errs, code := run(t, "plan", "--out", stalePlan, dir)
	if code != 0 || !strings.Contains(out, "lxnetd apply "+stalePlan) {
		t.Fatalf("plan --out: exit %d\n%s%s", code, out, errs)
	}
	if info, err := os.Stat(stalePlan); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("saved plan: %v, mode %v, want 0600", err, info.Mode().Perm())
	}
	d.Lxc(t, "network", "forward", "port", "add", bridge, fip, "tcp", "82", sandbox.HostIP(subnet, 12))
	before := ports()
	out, errs, code = run(t, "apply", "--yes", stalePlan)
	want := fmt.Sprintf(`%s changed on remote "sb" since the plan was made (ports)`, addr)
	if code != 1 || !strings.Contains(errs, want) || !strings.Contains(errs, "Nothing was written") {
		t.Fatalf("apply of a plan made stale by a hand-added port: exit %d, want 1 and %q\n%s%s", code, want, out, errs)
	}
	if after := ports(); !slices.Equal(before, after) {
		t.Fatalf("the refused apply wrote: ports %v, then %v", before, after)
	}
	t.Logf("refusal:\n%s", errs)

	// A fresh saved plan applies exactly (port 81 added, the hand port
	// removed), and the next plan is empty. It is saved inside the
	// configuration directory, as `terraform plan -out tfplan` often is:
	// it is not an input of itself.
	fresh := filepath.Join(dir, "tfplan")
	if out, errs, code := run(t, "plan", "--out", fresh, dir); code != 0 {
		t.Fatalf("plan --out: exit %d\n%s%s", code, out, errs)
	}
	if out, errs, code := run(t, "apply", "--yes", fresh); code != 0 {
		t.Fatalf("apply of a fresh saved plan: exit %d\n%s%s", code, out, errs)
	}
	if got, want := ports(), []string{port(80), port(81)}; !slices.Equal(got, want) {
		t.Fatalf("after apply FILE the forward has %v, want %v", got, want)
	}
	if out, errs, code := run(t, "plan", "--detailed-exitcode", dir); code != 0 {
		t.Fatalf("plan after apply FILE: exit %d, want 0\n%s%s", code, out, errs)
	}

	// A configuration file edited after plan --out.
	edited := filepath.Join(plans, "edited.plan")
	writeTestFile(t, dir, "main.hcl", forwardConfig(d, owner, bridge, subnet, fip, 80, 81, 83))
	if out, errs, code := run(t, "plan", "--out", edited, dir); code != 0 {
		t.Fatalf("plan --out: exit %d\n%s%s", code, out, errs)
	}
	writeTestFile(t, dir, "main.hcl", forwardConfig(d, owner, bridge, subnet, fip, 80, 81, 84))
	out, errs, code = run(t, "apply", "--yes", edited)
	if code != 1 || !strings.Contains(errs, `file "main.hcl" changed`) {
		t.Fatalf("apply of a plan whose file was edited: exit %d, want 1 naming main.hcl\n%s%s", code, out, errs)
	}
	if got, want := ports(), []string{port(80), port(81)}; !slices.Equal(got, want) {
		t.Fatalf("the refused apply wrote: the forward has %v, want %v", got, want)
	}
	// The plan applied earlier is spent: what it observed is gone.
	out, errs, code = run(t, "apply", "--yes", fresh)
	if code != 1 || !strings.Contains(errs, "is stale") {
		t.Fatalf("second apply of the same saved plan: exit %d, want 1 (stale)\n%s%s", code, out, errs)
	}
}

// nodeConfig is a bridge, a node with a static address on it and a forward
// on fip with the given ports to the node.
func nodeConfig(d *sandbox.Daemon, owner, bridge, subnet, node, fip string, ports ...int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "lxnet {\n  owner            = %q\n  delete_instances = true\n}\n\nremote \"sb\" {\n  address = \"unix://%s\"\n}\n\n", owner, d.Socket)
	fmt.Fprintf(&b, "network \"lan\" {\n  name   = %q\n  config = { \"ipv4.address\" = %q, \"ipv6.address\" = \"none\" }\n}\n\n",
		bridge, sandbox.HostIP(subnet, 1)+"/24")
	fmt.Fprintf(&b, "node \"web\" {\n  name  = %q\n  image = \"busybox\"\n  device \"eth0\" {\n    type       = \"nic\"\n"+
		"    properties = { network = network.lan.name, name = \"eth0\", \"ipv4.address\" = %q }\n  }\n}\n\n", node, sandbox.HostIP(subnet, 10))
	fmt.Fprintf(&b, "forward \"fip\" {\n  network        = network.lan\n  listen_address = %q\n", fip)
	for _, p := range ports {
		fmt.Fprintf(&b, "  port {\n    listen_port = %d\n    target      = node.web\n    target_port = 80\n  }\n", p)
	}
	b.WriteString("}\n")
	return b.String()
}

// TestSavedPlanWithNode: a saved plan stays fresh while other users'
// containers start on its bridge (used_by and objects it does not depend
// on), and goes stale when its own node is stopped by hand (status).
func TestSavedPlanWithNode(t *testing.T) {
	t.Parallel()
	d := sandbox.Primary(t)
	bridge, prefix := sandbox.UniqueName(t, "lxs"), sandbox.UniqueName(t, "savedn")
	owner, subnet, fip := "t-"+prefix, sandbox.AllocSubnet(t), sandbox.FloatingIP(t)
	node := prefix + "-web"
	dir, plans := t.TempDir(), t.TempDir()
	writeTestFile(t, dir, "main.hcl", nodeConfig(d, owner, bridge, subnet, node, fip, 80))
	t.Cleanup(func() {
		writeTestFile(t, dir, "main.hcl", fmt.Sprintf("lxnet {\n  owner            = %q\n  delete_instances = true\n}\nremote \"sb\" {\n  address = \"unix://%s\"\n}\n", owner, d.Socket))
		if out, errs, code := run(t, "apply", "--yes", "--allow-empty", dir); code != 0 {
			t.Errorf("cleanup apply: exit %d\n%s%s", code, out, errs)
		}
	})
	if out, errs, code := run(t, "apply", "--yes", dir); code != 0 {
		t.Fatalf("first apply: exit %d\n%s%s", code, out, errs)
	}

	writeTestFile(t, dir, "main.hcl", nodeConfig(d, owner, bridge, subnet, node, fip, 80, 81))
	first := filepath.Join(plans, "first.plan")
	if out, errs, code := run(t, "plan", "--out", first, dir); code != 0 {
		t.Fatalf("plan --out: exit %d\n%s%s", code, out, errs)
	}
	// Someone else's container starts on the bridge.
	d.LaunchBusybox(t, prefix+"-other", bridge, sandbox.HostIP(subnet, 20))
	if out, errs, code := run(t, "apply", "--yes", first); code != 0 {
		t.Fatalf("apply FILE after an unrelated container started: exit %d, want 0\n%s%s", code, out, errs)
	}
	if body := sandbox.HTTPGet(t, "http://"+fip+":81/", 30*time.Second); !strings.Contains(body, node) {
		t.Fatalf("port 81 added by apply FILE does not reach the node: %q", body)
	}

	writeTestFile(t, dir, "main.hcl", nodeConfig(d, owner, bridge, subnet, node, fip, 80, 81, 82))
	second := filepath.Join(plans, "second.plan")
	if out, errs, code := run(t, "plan", "--out", second, dir); code != 0 {
		t.Fatalf("plan --out: exit %d\n%s%s", code, out, errs)
	}
	d.Lxc(t, "stop", "--force", node)
	out, errs, code := run(t, "apply", "--yes", second)
	want := fmt.Sprintf(`node.%s changed on remote "sb" since the plan was made (status)`, node)
	if code != 1 || !strings.Contains(errs, want) {
		t.Fatalf("apply FILE after the node was stopped by hand: exit %d, want 1 and %q\n%s%s", code, want, out, errs)
	}
	if st := strings.TrimSpace(d.Lxc(t, "list", node, "--format", "csv", "--columns", "s")); st != "STOPPED" {
		t.Fatalf("the refused apply changed the node: %s", st)
	}

	third := filepath.Join(plans, "third.plan")
	if out, errs, code := run(t, "plan", "--out", third, dir); code != 0 {
		t.Fatalf("plan --out: exit %d\n%s%s", code, out, errs)
	}
	if out, errs, code := run(t, "apply", "--yes", third); code != 0 {
		t.Fatalf("apply of a fresh saved plan: exit %d\n%s%s", code, out, errs)
	}
	if body := sandbox.HTTPGet(t, "http://"+fip+":82/", 30*time.Second); !strings.Contains(body, node) {
		t.Fatalf("port 82 does not reach the restarted node: %q", body)
	}
	if out, errs, code := run(t, "plan", "--detailed-exitcode", dir); code != 0 {
		t.Fatalf("plan after apply FILE: exit %d, want 0\n%s%s", code, out, errs)
	}
}

// TestSavedPlanBlocker: used_by is not in the digest, but what it changes
// in the plan is caught: a saved plan that deletes a bridge is refused once
// someone else's container uses that bridge (the delete became a blocker),
// and the bridge stays.
func TestSavedPlanBlocker(t *testing.T) {
	t.Parallel()
	d := sandbox.Primary(t)
	keep, gone, prefix := sandbox.UniqueName(t, "lxs"), sandbox.UniqueName(t, "lxs"), sandbox.UniqueName(t, "savedb")
	owner, subnet1, subnet2 := "t-"+prefix, sandbox.AllocSubnet(t), sandbox.AllocSubnet(t)
	bridge := func(label, name, subnet string) string {
		return fmt.Sprintf("network %q {\n  name   = %q\n  config = { \"ipv4.address\" = %q, \"ipv6.address\" = \"none\" }\n}\n",
			label, name, sandbox.HostIP(subnet, 1)+"/24")
	}
	head := fmt.Sprintf("lxnet {\n  owner = %q\n}\nremote \"sb\" {\n  address = \"unix://%s\"\n}\n", owner, d.Socket)
	dir := t.TempDir()
	writeTestFile(t, dir, "main.hcl", head+bridge("keep", keep, subnet1)+bridge("gone", gone, subnet2))
	t.Cleanup(func() {
		writeTestFile(t, dir, "main.hcl", head)
		if out, errs, code := run(t, "apply", "--yes", "--allow-empty", dir); code != 0 {
			t.Errorf("cleanup apply: exit %d\n%s%s", code, out, errs)
		}
	})
	if out, errs, code := run(t, "apply", "--yes", dir); code != 0 {
		t.Fatalf("first apply: exit %d\n%s%s", code, out, errs)
	}
	writeTestFile(t, dir, "main.hcl", head+bridge("keep", keep, subnet1))
	saved := filepath.Join(t.TempDir(), "delete.plan")
	if out, errs, code := run(t, "plan", "--out", saved, dir); code != 0 || !strings.Contains(out, "- network."+gone) {
		t.Fatalf("plan --out: exit %d, want the delete of network.%s\n%s%s", code, gone, out, errs)
	}
	d.LaunchBusybox(t, prefix+"-other", gone, "")
	out, errs, code := run(t, "apply", "--yes", saved)
	for _, want := range []string{"is stale: a plan made now would differ",
		fmt.Sprintf(`the change to network.%s on remote "sb" is no longer planned`, gone), `the blockers on remote "sb" differ`} {
		if code != 1 || !strings.Contains(errs, want) {
			t.Fatalf("apply FILE after another user's container joined the bridge: exit %d, want 1 and %q\n%s%s", code, want, out, errs)
		}
	}
	if _, err := d.LxcErr("network", "show", gone); err != nil {
		t.Fatalf("the refused apply deleted the bridge: %v", err)
	}
}
