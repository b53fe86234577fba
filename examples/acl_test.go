//go:build integration

package examples_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestScenario10NetworkACL applies examples/10-network-acl and proves the
// ACL with traffic from the host: port 80 passes, 8080 (where the node
// also listens) is dropped; a rule added in HCL opens 8080 without
// restarting the container; `lxnetd run` restores a rule deleted by hand;
// an ACL lxnetd does not own is never touched; and the ACL is deleted only
// once no network uses it.
func TestScenario10NetworkACL(t *testing.T) {
	t.Parallel()
	d := sandbox.Primary(t)
	bridge, prefix := sandbox.UniqueName(t, "lx10"), sandbox.UniqueName(t, "s10")
	subnet := sandbox.AllocSubnet(t)
	c := cli{t: t, d: d, vars: map[string]string{"owner": "t-" + prefix, "bridge": bridge, "prefix": prefix, "subnet": subnet}}
	dir := "10-network-acl"
	acl, node, ip := prefix+"-web", prefix+"-web", sandbox.HostIP(subnet, 10)
	t.Cleanup(func() { c.destroy(dir) })
	start := time.Now()
	step := func(what string) { t.Logf("%6.1fs %s", time.Since(start).Seconds(), what) }

	// An ACL of someone else, and one of the same name as ours: plan refuses
	// to take the second over, and neither is ever changed.
	foreign := prefix + "-foreign"
	d.Lxc(t, "network", "acl", "create", foreign, "user.keep=yes")
	t.Cleanup(func() { _, _ = d.LxcErr("network", "acl", "delete", foreign) })
	d.Lxc(t, "network", "acl", "create", acl)
	if out, code := c.plan(dir); code != 1 || !strings.Contains(out, fmt.Sprintf("acl %q already exists", acl)) || !strings.Contains(out, "adopt = true") {
		t.Fatalf("plan with an unowned ACL of the declared name: exit %d, want 1 naming it:\n%s", code, out)
	}
	d.Lxc(t, "network", "acl", "delete", acl)
	foreignBefore := d.Lxc(t, "query", "/1.0/network-acls/"+foreign)

	step("unowned ACL refused")
	out, code := c.plan(dir, "--detailed-exitcode")
	if code != 2 || !strings.Contains(out, `+ ingress = "allow protocol=tcp destination_port=80 description=http"`) {
		t.Fatalf("first plan: exit %d, want 2 with the rule:\n%s", code, out)
	}
	c.apply(dir)
	if body := sandbox.HTTPGet(t, "http://"+ip+"/", 30*time.Second); !strings.Contains(body, node) {
		t.Fatalf("port 80 does not reach %s: %q", node, body)
	}
	step("applied, port 80 passes")
	// A second server on 8080: it answers inside the container, the bridge
	// drops what comes from outside.
	d.Lxc(t, "exec", node, "--", "httpd", "-p", "8080", "-h", "/var/www")
	if got := d.Lxc(t, "exec", node, "--", "wget", "-q", "-O", "-", "http://127.0.0.1:8080/"); !strings.Contains(got, node) {
		t.Fatalf("httpd on 8080 does not answer inside the container: %q", got)
	}
	dropped(t, ip+":8080")
	c.converged(dir)
	pid := initPID(t, d, node)
	step("8080 dropped, converged")

	// One more rule in HCL: one plan line; 8080 opens, the container runs on.
	opened := withRule(t, dir, `  ingress {
    action           = "allow"
    protocol         = "tcp"
    destination_port = "8080"
  }
`, c.vars)
	out, code = c.plan(opened, "--detailed-exitcode")
	if code != 2 || strings.Count(out, "\n      ") != 1 || !strings.Contains(out, `+ ingress = "allow protocol=tcp destination_port=8080"`) || !strings.Contains(out, "~ acl."+acl) {
		t.Fatalf("plan of an added rule: exit %d, want one line adding it:\n%s", code, out)
	}
	c.apply(opened)
	if body := sandbox.HTTPGet(t, "http://"+ip+":8080/", 30*time.Second); !strings.Contains(body, node) {
		t.Fatalf("8080 does not open after the rule was added: %q", body)
	}
	if now := initPID(t, d, node); now != pid {
		t.Fatalf("the container restarted (init pid %d → %d)", pid, now)
	}
	c.converged(opened)
	step("rule added, 8080 passes")

	// The daemon puts back a rule deleted by hand.
	daemonRestoresRule(t, c, opened, acl, ip)

	step("daemon restored the rule")
	// Removal waits for the network users: a network lxnetd does not
	// manage attaches the ACL, so destroy deletes the rest and keeps it.
	other := sandbox.UniqueName(t, "lx10o")
	d.CreateBridge(t, other)
	d.Lxc(t, "network", "set", other, "security.acls="+acl)
	out, code = c.destroy(dir)
	if code != 0 || !strings.Contains(out, fmt.Sprintf(`Warning: acl.%s is not deleted`, acl)) || !strings.Contains(out, fmt.Sprintf(`Still used by network %q`, other)) {
		t.Fatalf("destroy while another network uses the ACL: exit %d, want the ACL kept as blocked:\n%s", code, out)
	}
	if _, err := d.LxcErr("network", "show", bridge); err == nil {
		t.Fatalf("the example's bridge survived destroy")
	}
	d.Lxc(t, "network", "acl", "show", acl)
	d.Lxc(t, "network", "unset", other, "security.acls")
	step("destroy kept the ACL in use")
	if out, code := c.destroy(dir); code != 0 || !strings.Contains(out, "- acl."+acl) {
		t.Fatalf("destroy once unused: exit %d, want the ACL deleted:\n%s", code, out)
	}
	if _, err := d.LxcErr("network", "acl", "show", acl); err == nil {
		t.Fatalf("ACL %s still exists after destroy", acl)
	}
	if now := d.Lxc(t, "query", "/1.0/network-acls/"+foreign); now != foreignBefore {
		t.Fatalf("the unowned ACL changed:\n%s\n→\n%s", foreignBefore, now)
	}
}

// withRule copies an example with an extra rule in place of its "# more
// rules" line, and the variables in a .vars.hcl file (for lxnetd run).
func withRule(t *testing.T, src, rule string, vars map[string]string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(src, "main.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("  # more rules\n")) {
		t.Fatalf("%s has no \"# more rules\" line", src)
	}
	dir := t.TempDir()
	data = bytes.Replace(data, []byte("  # more rules\n"), []byte(rule), 1)
	var v strings.Builder
	for k, val := range vars {
		fmt.Fprintf(&v, "%s = %q\n", k, val)
	}
	for name, content := range map[string][]byte{"main.hcl": data, "test.vars.hcl": []byte(v.String())} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// dropped checks that a TCP connection to addr is dropped (no answer
// within 3 s), not refused: the server is there, the ACL drops its SYNs.
func dropped(t *testing.T, addr string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err == nil {
		conn.Close()
		t.Fatalf("%s accepted a connection; the ACL should drop it", addr)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("connecting to %s: %v, want a timeout (dropped, not refused)", addr, err)
	}
}

// initPID is the host PID of an instance's init (changes when it restarts).
func initPID(t *testing.T, d *sandbox.Daemon, name string) int {
	t.Helper()
	var st struct {
		Pid    int    `json:"pid"`
		Status string `json:"status"`
	}
	mustJSON(t, d.Lxc(t, "query", "/1.0/instances/"+name+"/state"), &st)
	if st.Status != "Running" || st.Pid == 0 {
		t.Fatalf("%s is %s (pid %d), want Running", name, st.Status, st.Pid)
	}
	return st.Pid
}

// daemonRestoresRule runs `lxnetd run` on dir, deletes the port 80 rule by
// hand, and waits for the daemon to put it back and port 80 to pass again.
func daemonRestoresRule(t *testing.T, c cli, dir, acl, ip string) {
	t.Helper()
	var log lockedBuffer
	cmd := exec.Command(binary, "run", "--config-dir", dir, "--socket", filepath.Join(t.TempDir(), "control.sock"), "--log-format", "text", "--log-level", "debug")
	cmd.Env = append(os.Environ(), "LXD_SOCKET="+c.d.Socket, "LXD_DIR=", "NOTIFY_SOCKET=")
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Errorf("lxnetd run did not stop within 30s of SIGTERM")
			_ = cmd.Process.Kill()
			<-done
		}
	}
	defer stop()

	rules := func() string { return c.d.Lxc(t, "query", "/1.0/network-acls/"+acl) }
	// Wait until the daemon has had its first pass (nothing to do), so the
	// hand edit below is drift it has to notice.
	waitFor(t, "the daemon's first pass", 60*time.Second, func() bool {
		return strings.Contains(log.String(), "converged") || strings.Contains(log.String(), "no changes")
	})
	c.d.Lxc(t, "network", "acl", "rule", "remove", acl, "ingress", "action=allow", "protocol=tcp", "destination_port=80", "description=http")
	start := time.Now()
	waitFor(t, "the rule is back", 60*time.Second, func() bool {
		var a struct {
			Ingress []map[string]string `json:"ingress"`
		}
		mustJSON(t, rules(), &a)
		for _, r := range a.Ingress {
			if r["destination_port"] == "80" && r["action"] == "allow" {
				return true
			}
		}
		return false
	})
	t.Logf("the daemon restored the rule in %s", time.Since(start).Round(time.Millisecond))
	sandbox.HTTPGet(t, "http://"+ip+"/", 30*time.Second)
	stop()
	if t.Failed() {
		t.Logf("lxnetd run log:\n%s", log.String())
	}
}

// lockedBuffer is a bytes.Buffer the daemon writes while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor polls cond every 100 ms until it holds or within passes.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
