//go:build integration

package daemon_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestRunLogsOrphanWarning: when a node block is removed while
// delete_instances = false, the daemon keeps the instance and logs the same
// orphan warning plan prints (with what to do), instead of staying silent.
func TestRunLogsOrphanWarning(t *testing.T) {
	primary := sandbox.Primary(t)
	br := sandbox.UniqueName(t, "dwb")
	primary.CreateBridge(t, br)
	node, keep := sandbox.UniqueName(t, "dwn"), sandbox.UniqueName(t, "dwk")
	owner := "t-" + node
	// Cleanups run last-in first-out: the instance lxnetd created goes
	// before the bridge the sandbox deletes.
	t.Cleanup(func() { _, _ = primary.LxcErr("profile", "delete", keep) })
	t.Cleanup(func() { _, _ = primary.LxcErr("delete", "--force", node) })

	dir := t.TempDir()
	// The profile stays declared, so removing the node never empties the
	// remote (the delete gate would refuse that pass).
	base := fmt.Sprintf("lxnet {\n  owner = %q\n  resync_interval = \"1h\"\n}\n\n", owner) +
		remoteHCL("primary", primary.Remote(), "") +
		fmt.Sprintf("\nprofile %q {\n  remote = remote.primary\n}\n", keep)
	nodeHCL := fmt.Sprintf(`
node %q {
  remote = remote.primary
  image  = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = %q, name = "eth0" }
  }
}
`, node, br)
	writeFile(t, filepath.Join(dir, "main.hcl"), base+nodeHCL)
	p := startLxnetd(t, dir)
	p.waitConverged(t, 120*time.Second)
	if _, err := primary.LxcErr("info", node); err != nil {
		t.Fatalf("node %s not created: %v", node, err)
	}

	writeFile(t, filepath.Join(dir, "main.hcl"), base)
	want := []string{"plan warning", "kind=orphan", "object=node." + node, "delete_instances = true"}
	deadline := time.Now().Add(60 * time.Second)
	for {
		line := logLine(p.log.String(), "kind=orphan")
		if line != "" && containsAll(line, want) {
			t.Logf("logged: %s", line)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no orphan warning with %q logged within 60s of removing the node block; log:\n%s", want, p.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := primary.LxcErr("info", node); err != nil {
		t.Fatalf("the orphan %s was deleted although delete_instances = false: %v", node, err)
	}
}

// logLine is the first line of log containing s, or "".
func logLine(log, s string) string {
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
