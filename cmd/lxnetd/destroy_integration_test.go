//go:build integration

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// destroyConfig is a bridge, a profile the node uses, a spare profile, a
// busybox node with a static address and a forward to it, on the primary
// sandbox daemon, with max_deletes = 1.
func destroyConfig(d *sandbox.Daemon, owner, bridge, prefix, subnet, fip string) string {
	return fmt.Sprintf(`lxnet {
  owner       = %q
  max_deletes = 1
}

remote "sb" {
  address = "unix://%s"
}

network "lan" {
  name   = %q
  config = { "ipv4.address" = "%s/24", "ipv6.address" = "none" }
}

profile "web" {
  name   = "%s-web"
  config = { "user.role" = "web" }
}

profile "spare" {
  name   = "%s-spare"
  config = { "user.role" = "spare" }
}

node "web" {
  name     = "%s-n"
  image    = "busybox"
  profiles = ["default", profile.web.name]
  device "eth0" {
    type       = "nic"
    properties = { network = network.lan.name, name = "eth0", "ipv4.address" = %q }
  }
}

forward "fip" {
  network        = network.lan
  listen_address = %q
  port {
    listen_port = "80"
    target      = node.web
    target_port = "80"
  }
}
`, owner, d.Socket, bridge, sandbox.HostIP(subnet, 1), prefix, prefix, prefix, sandbox.HostIP(subnet, 10), fip)
}

// ownedBy lists every network, profile, instance and forward on d that
// carries owner's tag, as "kind/name".
func ownedBy(t *testing.T, d *sandbox.Daemon, owner string) []string {
	t.Helper()
	type obj struct {
		Name   string            `json:"name"`
		Config map[string]string `json:"config"`
	}
	var out []string
	for _, kind := range []string{"networks", "profiles", "instances"} {
		var objs []obj
		if err := json.Unmarshal([]byte(d.Lxc(t, "query", "/1.0/"+kind+"?recursion=1")), &objs); err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if o.Config[engine.TagOwner] == owner {
				out = append(out, kind+"/"+o.Name)
			}
			if kind != "networks" {
				continue
			}
			raw, err := d.LxcErr("query", "/1.0/networks/"+o.Name+"/forwards?recursion=1")
			if err != nil {
				continue // not a bridge, or deleted meanwhile by another test
			}
			var fwds []struct {
				ListenAddress string            `json:"listen_address"`
				Config        map[string]string `json:"config"`
			}
			if err := json.Unmarshal([]byte(raw), &fwds); err != nil {
				t.Fatal(err)
			}
			for _, f := range fwds {
				if f.Config[engine.TagOwner] == owner {
					out = append(out, "forwards/"+o.Name+"/"+f.ListenAddress)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestDestroy: destroy refuses without a terminal and without --yes,
// obeys max_deletes until --max-deletes, keeps the owner's instance (and
// what it uses) without delete_instances and says how to delete it, then
// removes every owned object with --delete-instances; profiles made by
// hand or by another owner stay byte-identical; a last destroy finds
// nothing.
func TestDestroy(t *testing.T) {
	t.Parallel()
	d := sandbox.Primary(t)
	bridge, prefix := sandbox.UniqueName(t, "lxd"), sandbox.UniqueName(t, "dst")
	owner, subnet, fip := "t-"+prefix, sandbox.AllocSubnet(t), sandbox.FloatingIP(t)
	dir := t.TempDir()
	writeTestFile(t, dir, "main.hcl", destroyConfig(d, owner, bridge, prefix, subnet, fip))
	t.Cleanup(func() {
		if out, errs, code := run(t, "destroy", "--yes", "--delete-instances", "--max-deletes", "100", dir); code != 0 {
			t.Errorf("cleanup destroy: exit %d\n%s%s", code, out, errs)
		}
	})

	// Profiles lxnetd must never touch: one made by hand, one of another owner.
	hand, theirs := prefix+"-hand", prefix+"-theirs"
	for _, p := range []string{hand, theirs} {
		d.Lxc(t, "profile", "create", p)
		t.Cleanup(func() { _, _ = d.LxcErr("profile", "delete", p) })
		d.Lxc(t, "profile", "set", p, "limits.memory=64MB")
		d.Lxc(t, "profile", "device", "add", p, "lo", "proxy", "listen=tcp:127.0.0.1:18080", "connect=tcp:127.0.0.1:80")
	}
	d.Lxc(t, "profile", "set", theirs, engine.TagOwner+"=t-someone-else")
	shows := func() []string {
		return []string{d.Lxc(t, "profile", "show", hand), d.Lxc(t, "profile", "show", theirs)}
	}
	before := shows()

	if out, errs, code := run(t, "apply", "--yes", dir); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errs)
	}
	all := []string{
		"forwards/" + bridge + "/" + fip, "instances/" + prefix + "-n", "networks/" + bridge,
		"profiles/" + prefix + "-spare", "profiles/" + prefix + "-web",
	}
	slices.Sort(all)
	if d := cmp.Diff(all, ownedBy(t, d, owner)); d != "" {
		t.Fatalf("after apply (-want +got):\n%s", d)
	}
	sandbox.HTTPGet(t, "http://"+fip+"/", 30*time.Second)

	// Unattended without --yes: refused, nothing deleted (a real process
	// whose stdin is /dev/null, not a terminal).
	cmd := exec.Command(lxnetdBinary(t), "destroy", "--delete-instances", "--max-deletes", "100", dir)
	outb, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(outb), "use --yes") {
		t.Fatalf("destroy without --yes and without a terminal: %v\n%s", err, outb)
	}
	if got := ownedBy(t, d, owner); len(got) != len(all) {
		t.Fatalf("refused destroy deleted something: %v left", got)
	}

	// Every line of the plan is a delete; the gate refuses 5 > max_deletes = 1.
	out, errs, code := run(t, "destroy", "--yes", "--delete-instances", dir)
	t.Logf("destroy over max_deletes:\n%s%s", out, errs)
	if code != 1 || !strings.Contains(errs, "more than max_deletes = 1 in the lxnet block") || !strings.Contains(errs, "lxnetd destroy --max-deletes 5 once") {
		t.Fatalf("destroy of 5 objects: exit %d, want 1 naming max_deletes", code)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "      ") && !strings.HasPrefix(strings.TrimSpace(line), "- ") {
			t.Errorf("destroy plan line is not a delete: %q", line)
		}
	}
	if !strings.Contains(out, "Plan: 0 to create, 0 to update, 5 to delete.") {
		t.Errorf("destroy plan does not count 5 deletes:\n%s", out)
	}
	if got := ownedBy(t, d, owner); len(got) != len(all) {
		t.Fatalf("refused destroy deleted something: %v left", got)
	}

	// Without delete_instances the node stays, and so do the bridge and the
	// profile it uses; the output says so and how to delete it.
	out, errs, code = run(t, "destroy", "--yes", "--max-deletes", "2", dir)
	t.Logf("destroy keeping the instance:\n%s%s", out, errs)
	if code != 0 || !strings.Contains(out, "Kept: 1 owned instance(s)") || !strings.Contains(out, "lxnetd destroy --delete-instances") ||
		!strings.Contains(out, "network."+bridge+" is not deleted") || !strings.Contains(out, "profile."+prefix+"-web is not deleted") {
		t.Fatalf("destroy without delete_instances: exit %d", code)
	}
	kept := []string{"instances/" + prefix + "-n", "networks/" + bridge, "profiles/" + prefix + "-web"}
	if d := cmp.Diff(kept, ownedBy(t, d, owner)); d != "" {
		t.Fatalf("after destroying without instances (-want +got):\n%s", d)
	}

	out, errs, code = run(t, "destroy", "--yes", "--delete-instances", "--max-deletes", "3", dir)
	t.Logf("destroy --delete-instances:\n%s%s", out, errs)
	if code != 0 {
		t.Fatalf("destroy --delete-instances: exit %d", code)
	}
	if got := ownedBy(t, d, owner); len(got) != 0 {
		t.Fatalf("left after destroy: %v", got)
	}
	if d := cmp.Diff(before, shows()); d != "" {
		t.Errorf("destroy changed profiles it does not own (-before +after):\n%s", d)
	}

	out, errs, code = run(t, "destroy", "--yes", "--delete-instances", dir)
	if code != 0 || !strings.Contains(out, "Nothing to destroy: the owner has no objects") {
		t.Fatalf("second destroy: exit %d\n%s%s", code, out, errs)
	}
}

// TestDestroyBlockedByUnownedInstance: destroy never deletes a network an
// instance it does not own still uses (it reports it, before any write,
// and leaves the instance alone), and --target limits what it deletes.
func TestDestroyBlockedByUnownedInstance(t *testing.T) {
	t.Parallel()
	d := sandbox.Primary(t)
	bridge, prefix := sandbox.UniqueName(t, "lxd"), sandbox.UniqueName(t, "dsb")
	owner, subnet := "t-"+prefix, sandbox.AllocSubnet(t)
	dir := t.TempDir()
	profiles := []string{prefix + "-a", prefix + "-b"}
	writeTestFile(t, dir, "main.hcl", gateConfig(d, owner, bridge, subnet, profiles))
	t.Cleanup(func() {
		if out, errs, code := run(t, "destroy", "--yes", "--max-deletes", "100", dir); code != 0 {
			t.Errorf("cleanup destroy: exit %d\n%s%s", code, out, errs)
		}
	})
	if out, errs, code := run(t, "apply", "--yes", dir); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errs)
	}
	stranger := prefix + "-x"
	d.LaunchBusybox(t, stranger, bridge, "")

	// --target: only the named profile goes.
	out, errs, code := run(t, "destroy", "--yes", "--target", "profile."+profiles[0], dir)
	t.Logf("destroy --target:\n%s%s", out, errs)
	want := []string{"networks/" + bridge, "profiles/" + profiles[1]}
	if code != 0 {
		t.Fatalf("destroy --target: exit %d", code)
	}
	if d := cmp.Diff(want, ownedBy(t, d, owner)); d != "" {
		t.Fatalf("after destroy --target (-want +got):\n%s", d)
	}

	out, errs, code = run(t, "destroy", "--yes", dir)
	t.Logf("destroy with an unowned instance on the bridge:\n%s%s", out, errs)
	heading := fmt.Sprintf("network.%s is not deleted", bridge)
	why := fmt.Sprintf("Still used by instance %q, which lxnetd does not manage", stranger)
	if code != 0 || !strings.Contains(out, heading) || !strings.Contains(strings.Join(strings.Fields(out), " "), why) {
		t.Fatalf("destroy: exit %d, want 0 reporting %q: %q", code, heading, why)
	}
	if d := cmp.Diff([]string{"networks/" + bridge}, ownedBy(t, d, owner)); d != "" {
		t.Fatalf("after destroy (-want +got):\n%s", d)
	}
	if st := d.Lxc(t, "list", stranger, "--format", "csv", "--columns", "s"); strings.TrimSpace(st) != "RUNNING" {
		t.Fatalf("the unowned instance is %q", st)
	}

	// Nothing deletable is left: destroy says what is kept and why.
	out, errs, code = run(t, "destroy", "--yes", dir)
	if code != 0 || !strings.Contains(out, heading) || !strings.Contains(out, "Nothing to destroy that can be deleted now") {
		t.Fatalf("destroy with only a blocked network: exit %d\n%s%s", code, out, errs)
	}

	d.Lxc(t, "delete", "--force", stranger)
	if out, errs, code := run(t, "destroy", "--yes", dir); code != 0 || len(ownedBy(t, d, owner)) != 0 {
		t.Fatalf("destroy after the instance is gone: exit %d, left %v\n%s%s", code, ownedBy(t, d, owner), out, errs)
	}
}
