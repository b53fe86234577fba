package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// clusterDirPrefix names the directory of every namespaced cluster, beside
// the shared sandbox's directory; the rest of the name is the cluster's id.
const clusterDirPrefix = "lxnetd-sandbox-cluster-"

// Cluster starts an LXD cluster of members (2 to 9) for the calling test:
// members "m1".."mN", each an LXD daemon in its own network and mount
// namespace as in NamespacedPair, joined by a host bridge on a fresh
// 10.231.X.0/24 (host .1, m1 .11, m2 .12, …; see Daemon.Underlay). m1
// bootstraps the cluster, the others join it with a join token.
//
// Every member serves the whole cluster: over HTTPS on its underlay address
// (Remote: the trusted client certificate and the pinned cluster
// certificate, which all members present) and through its unix socket
// (Lxc). The cluster has a dir pool "default" on every member, a root disk
// in the default profile and the busybox image (imported once; LXD copies it
// to a member when an instance there needs it). Daemon.Name is the member's
// name, which is what an instance's location and a placement target name.
//
// Everything is removed in t.Cleanup, also when starting fails half-way.
// Starting 3 members takes ~7 s. Instance names must still come from
// UniqueName (LXC's cgroup names are host-wide).
func Cluster(t testing.TB, members int) []*Daemon {
	t.Helper()
	if members < 2 || members > 9 {
		t.Fatalf("sandbox.Cluster: %d members, want 2 to 9", members)
	}
	Primary(t) // subnet leases live in the shared sandbox
	removeStale(t, clusterDirPrefix, "cluster-down")
	id := strings.TrimPrefix(uniqueName("c"), "c-")[:6]
	dir := filepath.Join(filepath.Dir(Dir()), clusterDirPrefix+id)
	env := []string{
		"LXNETD_SANDBOX_DIR=" + dir,
		"LXNETD_SANDBOX_PAIR_ID=" + id,
		"LXNETD_SANDBOX_PAIR_SUBNET=" + AllocSubnet(t),
		"LXNETD_SANDBOX_CLUSTER_MEMBERS=" + strconv.Itoa(members),
		"LXNETD_SANDBOX_OWNER_PID=" + strconv.Itoa(os.Getpid()),
	}
	if images, _ := filepath.Glob(filepath.Join(Dir(), "image", "busybox-v*.tar.gz")); len(images) == 1 {
		env = append(env, "LXNETD_SANDBOX_IMAGE="+images[0])
	}
	t.Cleanup(func() {
		if _, err := os.Stat(dir); err != nil {
			return
		}
		if out, err := runScript(env, "cluster-down"); err != nil {
			t.Errorf("removing namespaced cluster %s: %v\n%s", dir, err, out)
		}
	})
	if out, err := runScript(env, "cluster-up"); err != nil {
		t.Fatalf("starting an LXD cluster of %d members in their own namespaces (%s): %v\n%s", members, dir, err, out)
	}
	ds := make([]*Daemon, members)
	for i := range ds {
		d, err := connect(dir, fmt.Sprintf("m%d", i+1))
		if err != nil {
			t.Fatalf("namespaced cluster in %s: %v", dir, err)
		}
		ds[i] = d
	}
	return ds
}
