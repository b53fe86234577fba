//go:build integration

package sandbox

import (
	"encoding/json"
	"net"
	"os"
	"strings"
	"testing"
)

// TestCluster starts a 3-member cluster and checks that every member is an
// ONLINE member of one cluster, answers over HTTPS from the host with the
// pinned cluster certificate, that an instance lands on the member it is
// targeted at, and that the cleanup leaves nothing behind.
func TestCluster(t *testing.T) {
	t.Parallel()
	var dir, bridge string
	t.Run("up", func(t *testing.T) {
		ms := Cluster(t, 3)
		dir = strings.TrimSuffix(ms[0].Dir, "/m1")
		bridge = "lxcl" + strings.TrimPrefix(dir[strings.LastIndex(dir, "/")+1:], clusterDirPrefix)
		var members []struct {
			ServerName string `json:"server_name"`
			Status     string `json:"status"`
		}
		mustUnmarshal(t, ms[0].Lxc(t, "query", "/1.0/cluster/members?recursion=1"), &members)
		if len(members) != 3 {
			t.Fatalf("cluster members: %+v, want 3", members)
		}
		for _, m := range members {
			if m.Status != "Online" {
				t.Fatalf("member %s is %s", m.ServerName, m.Status)
			}
		}
		for i, d := range ms {
			if d.Name != members[i].ServerName || d.Underlay == "" || !strings.HasPrefix(d.HTTPSAddress, "https://"+d.Underlay+":") {
				t.Fatalf("member %d: %+v (cluster says %s)", i, d, members[i].ServerName)
			}
			if d.ServerFingerprint != ms[0].ServerFingerprint {
				t.Fatalf("%s pins %s, m1 %s: all members serve the cluster certificate", d.Name, d.ServerFingerprint, ms[0].ServerFingerprint)
			}
			c, err := d.HTTPSClient()
			if err != nil {
				t.Fatal(err)
			}
			if err := getAPI(t.Context(), c, d.HTTPSAddress+"/1.0"); err != nil {
				t.Fatalf("%s over HTTPS from the host: %v", d.Name, err)
			}
		}
		// An instance created through m1 with target m2 runs on m2, from the
		// image imported once on m1.
		inst := UniqueName(t, "cl")
		t.Cleanup(func() { ms[0].deleteIfExists(t, "instance", inst) })
		ms[0].Lxc(t, "init", "busybox", inst, "--target", "m2")
		var got struct{ Location string }
		mustUnmarshal(t, ms[2].Lxc(t, "query", "/1.0/instances/"+inst), &got)
		if got.Location != "m2" {
			t.Fatalf("instance %s is on %q, want m2", inst, got.Location)
		}
		if _, err := net.InterfaceByName(bridge); err != nil {
			t.Fatalf("the cluster's host bridge %s: %v", bridge, err)
		}
	})
	if dir == "" {
		t.Fatal("the cluster did not come up")
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("%s remains after the cleanup", dir)
	}
	if _, err := net.InterfaceByName(bridge); err == nil {
		t.Errorf("the host bridge %s remains after the cleanup", bridge)
	}
	if left := processesUsing(dir); len(left) > 0 {
		t.Errorf("processes remain after the cleanup: %v", left)
	}
}

func mustUnmarshal(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decoding %q: %v", s, err)
	}
}

// TestClusterStale checks that the cluster of a test process that died
// without cleaning up is taken down by the next Cluster.
func TestClusterStale(t *testing.T) {
	t.Parallel()
	checkStaleRemoved(t, clusterDirPrefix, "cluster", "lxcl", []string{"LXNETD_SANDBOX_CLUSTER_MEMBERS=2"})
}
