package sandbox

import (
	"fmt"
	"strconv"
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
	names := make([]string, members)
	for i := range names {
		names[i] = fmt.Sprintf("m%d", i+1)
	}
	return startNamespaced(t, clusterDirPrefix, "cluster", fmt.Sprintf("an LXD cluster of %d members in their own namespaces", members),
		[]string{"LXNETD_SANDBOX_CLUSTER_MEMBERS=" + strconv.Itoa(members)}, names)
}
