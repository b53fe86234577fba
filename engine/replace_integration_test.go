//go:build integration

package engine_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestLXDReplaceForcedKeys on real LXD: naming the same image by alias,
// fingerprint or prefix plans nothing, an image that names nothing is
// reported (and plans nothing); a new root disk pool, which LXD 5.0.2
// refuses to change in place, is a blocked replace whose other changes still
// apply, and with delete_instances the node is recreated on the new pool.
func TestLXDReplaceForcedKeys(t *testing.T) {
	d := sandbox.Primary(t)
	r := connect(t, d.Remote())
	prefix := sandbox.UniqueName(t, "rp")
	pool := prefix + "-pool"
	d.Lxc(t, "storage", "create", pool, "dir")
	t.Cleanup(func() {
		if _, err := d.LxcErr("storage", "delete", pool); err != nil {
			t.Errorf("deleting pool %s: %v", pool, err)
		}
	})
	s := spec.Settings{Owner: "t-" + prefix}
	removeAll(t, r, s.Owner) // runs before the pool's removal
	want := d.Remote()
	want.Instances = []spec.Instance{{Meta: spec.Meta{Addr: "node.n"}, Name: prefix + "-n", Image: "busybox", State: "stopped",
		Devices: map[string]spec.Device{"root": {"type": "disk", "path": "/", "pool": "default"}}}}
	converge(t, r, &want, s)

	fp := strings.TrimSpace(d.Lxc(t, "config", "get", prefix+"-n", "volatile.base_image"))
	for _, image := range []string{fp, fp[:12], "busybox"} {
		want.Instances[0].Image = image
		if p := lxdPlan(t, r, &want, s); !p.Empty() || len(p.Blockers) != 0 || !p.ImagesListed {
			t.Fatalf("image %q: %v %q", image, describe(p), p.Blockers)
		}
	}

	// An image that names nothing there is said, and changes nothing.
	want.Instances[0].Image = prefix + "-no-such-image"
	if p := lxdPlan(t, r, &want, s); !p.Empty() || len(p.Blockers) != 1 || !strings.Contains(p.Blockers[0], "names no single image") {
		t.Fatalf("unknown image: %v %q", describe(p), p.Blockers)
	}
	want.Instances[0].Image = "busybox"

	want.Instances[0].Devices["root"]["pool"] = pool
	want.Instances[0].Config = map[string]string{"limits.memory": "64MiB"}
	p := lxdPlan(t, r, &want, s)
	if len(p.Blockers) != 1 || !strings.Contains(p.Blockers[0], `root disk pool changes from "default" to "`+pool+`"`) {
		t.Fatalf("blockers %q", p.Blockers)
	}
	lxdApply(t, r, p) // LXD would refuse the pool: the in-place update leaves it out
	if got := strings.TrimSpace(d.Lxc(t, "config", "get", prefix+"-n", "limits.memory")); got != "64MiB" {
		t.Fatalf("the in-place part of a blocked replace was not applied: limits.memory = %q", got)
	}
	if out := d.Lxc(t, "config", "device", "get", prefix+"-n", "root", "pool"); strings.TrimSpace(out) != "default" {
		t.Fatalf("root pool %q", out)
	}

	s.DeleteInstances = true
	p = lxdPlan(t, r, &want, s)
	if keys := describe(p)["-/+ node."+prefix+"-n"]; !slices.Contains(keys, `devices.root.pool: "default" → "`+pool+`"`) {
		t.Fatalf("plan with delete_instances: %v", describe(p))
	}
	converge(t, r, &want, s)
	if out := d.Lxc(t, "storage", "volume", "list", pool, "--format", "csv", "-c", "n"); !strings.Contains(out, prefix+"-n") {
		t.Fatalf("no volume of the node on %s: %q", pool, out)
	}
}
