//go:build integration

package daemon_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/internal/daemon"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestRunRemoteOutage stops one remote's LXD daemon: the other remotes
// keep converging, status reports the failure, and once the daemon is back
// it converges without restarting lxnetd. The daemon stopped is a private
// sandbox daemon of this test (sandbox.Private), so the shared primary and
// secondary, which other packages' tests use at the same time, are never
// disturbed; the secondary takes part over HTTPS as a remote that stays up.
func TestRunRemoteOutage(t *testing.T) {
	primary := sandbox.Primary(t)
	secondary := sandbox.Secondary(t)
	private := sandbox.Private(t)
	owner := sandbox.UniqueName(t, "dout")
	pp1, pp2 := sandbox.UniqueName(t, "doutp"), sandbox.UniqueName(t, "doutp")
	sp1 := sandbox.UniqueName(t, "douts")
	xp1, xp2 := sandbox.UniqueName(t, "doutx"), sandbox.UniqueName(t, "doutx")
	t.Cleanup(func() {
		for _, n := range []string{pp1, pp2} {
			_, _ = primary.LxcErr("profile", "delete", n)
		}
		_, _ = secondary.LxcErr("profile", "delete", sp1)
	})

	prof := func(name, remote string) string {
		return fmt.Sprintf("profile %q {\n  remote = remote.%s\n}\n", name, remote)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "remotes.hcl"), fmt.Sprintf("lxnet {\n  owner = %q\n  resync_interval = \"1h\"\n}\n", owner)+
		remoteHCL("primary", primary.Remote(), "")+remoteHCL("secondary", secondary.Remote(), "")+remoteHCL("private", private.Remote(), ""))
	writeFile(t, filepath.Join(dir, "primary.hcl"), prof(pp1, "primary"))
	writeFile(t, filepath.Join(dir, "secondary.hcl"), prof(sp1, "secondary"))
	writeFile(t, filepath.Join(dir, "private.hcl"), prof(xp1, "private"))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := l.Addr().String()
	l.Close()
	p := startLxnetdArgs(t, dir, []string{"--metrics-address", metricsAddr})
	st := p.waitConverged(t, 120*time.Second)
	t.Logf("all up: %s", st.Line())

	stopped := time.Now()
	out, err := exec.Command("timeout", "120", "env", "LXD_DIR="+private.Dir, "lxd", "shutdown", "--timeout", "90").CombinedOutput()
	if err != nil {
		t.Fatalf("lxd shutdown of the private daemon: %v\n%s", err, out)
	}
	t.Logf("private LXD stopped in %v", time.Since(stopped).Round(time.Millisecond))
	st = p.waitFor(t, "private failing", 60*time.Second, func(s *daemon.Status) bool {
		return remoteStatus(t, s, "private").State == daemon.StateFailing
	})
	t.Logf("private down: STATUS=%s", st.Line())
	if !regexp.MustCompile(`^2/3 remotes converged, \d+ objects, private: .+`).MatchString(st.Line()) {
		t.Errorf("status line %q does not report the private remote's failure", st.Line())
	}

	// The others keep converging: a new profile appears on the primary
	// while the private daemon is down; the private one's new profile waits.
	writeFile(t, filepath.Join(dir, "primary.hcl"), prof(pp1, "primary")+prof(pp2, "primary"))
	writeFile(t, filepath.Join(dir, "private.hcl"), prof(xp1, "private")+prof(xp2, "private"))
	edited := time.Now()
	for {
		if _, err := primary.LxcErr("profile", "show", pp2); err == nil {
			break
		}
		if time.Since(edited) > 60*time.Second {
			t.Fatal("primary did not converge within 60s while the private remote was down")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("primary converged the edit in %v with the private remote down", time.Since(edited).Round(time.Millisecond))
	st = p.waitFor(t, "primary and secondary converged", 60*time.Second, func(s *daemon.Status) bool {
		return remoteStatus(t, s, "primary").State == daemon.StateConverged && remoteStatus(t, s, "primary").ConfigHash == s.ConfigHash &&
			remoteStatus(t, s, "secondary").State == daemon.StateConverged && remoteStatus(t, s, "secondary").ConfigHash == s.ConfigHash
	})
	if r := remoteStatus(t, st, "private"); r.State != daemon.StateFailing || r.LastError == "" || r.NextRetry.IsZero() {
		t.Errorf("private remote status %+v, want failing with an error and a retry", r)
	}
	// Prometheus sees the same.
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`lxnetd_remote_converged{remote="primary"} 1`,
		`lxnetd_remote_converged{remote="secondary"} 1`,
		`lxnetd_remote_converged{remote="private"} 0`,
		`lxnetd_remote_connected{remote="private"} 0`,
		`lxnetd_config_rejected 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// Restart it with the sandbox script; lxnetd reconnects and converges
	// it without being restarted.
	restarted := time.Now()
	private.Restart(t)
	t.Logf("private LXD back after %v", time.Since(restarted).Round(time.Millisecond))
	st = p.waitConverged(t, 120*time.Second)
	t.Logf("private remote converged %v after its restart: %s", time.Since(restarted).Round(time.Millisecond), st.Line())
	if p.exited() {
		t.Fatal("lxnetd exited")
	}
	if _, err := private.LxcErr("profile", "show", xp2); err != nil {
		t.Errorf("profile %s missing on the private remote after it came back: %v", xp2, err)
	}
}
