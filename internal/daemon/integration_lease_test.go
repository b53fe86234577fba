//go:build integration

package daemon_test

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/engine/lease"
	"github.com/lxnetd/lxnetd/internal/daemon"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// apply runs the real `lxnetd apply --yes dir` and returns its output and
// exit code.
func apply(t *testing.T, dir string) (string, int) {
	t.Helper()
	out, err := exec.Command(lxnetdBin, "apply", "--yes", dir).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	}
	t.Fatalf("running lxnetd apply: %v", err)
	return "", 0
}

func profileExists(d *sandbox.Daemon, name string) bool {
	_, err := d.LxcErr("profile", "show", name)
	return err == nil
}

// leaseValue is the raw lease key of owner on d ("" when unset).
func leaseValue(t *testing.T, d *sandbox.Daemon, owner string) string {
	t.Helper()
	return strings.TrimSpace(d.Lxc(t, "config", "get", lease.Key(owner)))
}

// TestApplyRefusedWhileDaemonRuns: `lxnetd apply --yes` on a directory of the
// same owner as a running `lxnetd run` is refused before any write, naming
// the daemon and pointing at `lxnetd reload`; with another owner it applies.
func TestApplyRefusedWhileDaemonRuns(t *testing.T) {
	primary := sandbox.Primary(t)
	owner := sandbox.UniqueName(t, "lown")
	kept, extra, other := sandbox.UniqueName(t, "lkeep"), sandbox.UniqueName(t, "lextra"), sandbox.UniqueName(t, "lother")
	for _, p := range []string{kept, extra, other} {
		t.Cleanup(func() { _, _ = primary.LxcErr("profile", "delete", p) })
	}
	t.Cleanup(func() { _, _ = primary.LxcErr("config", "unset", lease.Key(owner)) })
	remote := remoteHCL("primary", primary.Remote(), "")
	profile := func(name string) string {
		return fmt.Sprintf("profile %q {\n  remote = remote.primary\n  config = { \"user.test\" = \"lease\" }\n}\n", name)
	}

	daemonDir := t.TempDir()
	writeFile(t, filepath.Join(daemonDir, "main.hcl"), fmt.Sprintf("lxnet {\n  owner = %q\n}\n", owner)+remote+profile(kept))
	p := startLxnetd(t, daemonDir)
	st := p.waitConverged(t, 60*time.Second)
	if r := remoteStatus(t, st, "primary"); r.Lease != daemon.LeaseHeld {
		t.Fatalf("daemon converged without holding the lease: %+v", r)
	}
	if v := leaseValue(t, primary, owner); !strings.Contains(v, `"command":"lxnetd run"`) || !strings.Contains(v, fmt.Sprintf(`"pid":%d`, p.cmd.Process.Pid)) {
		t.Fatalf("lease key holds %q, want the daemon's record", v)
	}

	// The same owner from another directory: the plan would create extra
	// and delete kept, i.e. fight the daemon. Refused, nothing written.
	cliDir := t.TempDir()
	writeFile(t, filepath.Join(cliDir, "main.hcl"), fmt.Sprintf("lxnet {\n  owner = %q\n}\n", owner)+remote+profile(extra))
	out, code := apply(t, cliDir)
	t.Logf("apply beside the daemon (exit %d):\n%s", code, out)
	if code == 0 {
		t.Fatal("apply beside a running daemon of the same owner succeeded")
	}
	for _, want := range []string{
		fmt.Sprintf("lxnetd run (pid %d on host", p.cmd.Process.Pid),
		lease.Key(owner),
		"lxnetd reload",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("refusal does not mention %q", want)
		}
	}
	if profileExists(primary, extra) || !profileExists(primary, kept) {
		t.Fatalf("refused apply wrote: extra exists %v, kept exists %v", profileExists(primary, extra), profileExists(primary, kept))
	}
	// destroy is a writer too.
	if out, err := exec.Command(lxnetdBin, "destroy", "--yes", cliDir).CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "lxnetd destroy refuses to write beside it") || !profileExists(primary, kept) {
		t.Fatalf("destroy beside the daemon: %v, kept exists %v\n%s", err, profileExists(primary, kept), out)
	}

	// Another owner is another writer's business: applied at once.
	otherDir := t.TempDir()
	otherOwner := sandbox.UniqueName(t, "loth")
	t.Cleanup(func() { _, _ = primary.LxcErr("config", "unset", lease.Key(otherOwner)) })
	writeFile(t, filepath.Join(otherDir, "main.hcl"), fmt.Sprintf("lxnet {\n  owner = %q\n}\n", otherOwner)+remote+profile(other))
	if out, code := apply(t, otherDir); code != 0 || !profileExists(primary, other) {
		t.Fatalf("apply with another owner: exit %d, profile exists %v\n%s", code, profileExists(primary, other), out)
	}
	if v := leaseValue(t, primary, otherOwner); v != "" {
		t.Errorf("apply left its lease behind: %q", v)
	}

	// A clean stop gives the daemon's lease back.
	if err := p.stop(t); err != nil {
		t.Fatalf("daemon stop: %v", err)
	}
	if v := leaseValue(t, primary, owner); v != "" {
		t.Errorf("stopped daemon left its lease: %q", v)
	}
}

// TestStandbyTakesOverWhenActiveIsKilled runs two `lxnetd run` on the same
// directory (as two hosts would): one converges, the other stands by naming
// it. After kill -9 of the active one, a forward it owned is deleted by
// hand; the standby takes over once the lease expires and restores it. A
// lease then overwritten by hand makes it stand by until the key is removed.
func TestStandbyTakesOverWhenActiveIsKilled(t *testing.T) {
	primary := sandbox.Primary(t)
	br := sandbox.UniqueName(t, "lbr")
	cidr := primary.CreateBridge(t, br)
	fip := sandbox.FloatingIP(t)
	owner := sandbox.UniqueName(t, "lha")
	t.Cleanup(func() { _, _ = primary.LxcErr("network", "forward", "delete", br, fip) })
	t.Cleanup(func() { _, _ = primary.LxcErr("config", "unset", lease.Key(owner)) })

	const ttl = 3 * time.Second
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "main.hcl"), fmt.Sprintf("lxnet {\n  owner     = %q\n  lease_ttl = %q\n}\n", owner, ttl)+
		remoteHCL("primary", primary.Remote(), "")+fmt.Sprintf(`
forward "web" {
  remote         = remote.primary
  network        = %q
  listen_address = %q
  port {
    listen_port    = "8080"
    target_address = %q
    target_port    = "80"
  }
}
`, br, fip, hostIn(t, cidr, 10)))

	a := startLxnetd(t, dir)
	b := startLxnetd(t, dir)
	var active, standby *proc
	deadline := time.Now().Add(60 * time.Second)
	for active == nil {
		ra, rb := remoteStatus(t, a.status(t), "primary"), remoteStatus(t, b.status(t), "primary")
		switch {
		case ra.State == daemon.StateConverged && rb.State == daemon.StateStandby:
			active, standby = a, b
		case rb.State == daemon.StateConverged && ra.State == daemon.StateStandby:
			active, standby = b, a
		case time.Now().After(deadline):
			t.Fatalf("no active/standby pair within 60s: a %s/%s, b %s/%s", ra.State, ra.Lease, rb.State, rb.Lease)
		default:
			time.Sleep(50 * time.Millisecond)
		}
	}
	if !forwardExists(primary, br, fip) {
		t.Fatal("active daemon converged without the forward")
	}
	st := standby.status(t)
	r := remoteStatus(t, st, "primary")
	t.Logf("standby: STATUS=%s", st.Line())
	if want := "lxnetd run (pid " + strconv.Itoa(active.cmd.Process.Pid) + " on host"; !strings.HasPrefix(r.LeaseHolder, want) || r.LeaseExpires.IsZero() {
		t.Fatalf("standby names holder %q until %s, want %q…", r.LeaseHolder, r.LeaseExpires, want)
	}
	if !strings.Contains(st.Line(), "primary: standby, "+r.LeaseHolder) {
		t.Errorf("STATUS line %q does not say the remote stands by", st.Line())
	}

	// The active host dies without a word; then the forward it kept is
	// deleted by hand.
	if err := active.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	<-active.done
	primary.Lxc(t, "network", "forward", "delete", br, fip)

	for !forwardExists(primary, br, fip) {
		if time.Since(killed) > ttl+60*time.Second {
			t.Fatalf("standby did not restore the forward within %s of the kill", ttl+60*time.Second)
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(killed)
	t.Logf("standby restored the forward %s after the active one was killed (lease time %s)", took.Round(time.Millisecond), ttl)
	// The lease was at most a renewal (ttl/3) old at the kill, so it
	// expired within ttl; then a retry (≤ ttl/10 jitter), the read-back
	// (0.5s) and one pass. The slack allows a machine three times slower.
	if slack := 10 * time.Second; took > ttl+slack {
		t.Errorf("takeover took %s, want within the lease time %s + %s", took, ttl, slack)
	}
	st = standby.waitConverged(t, 60*time.Second)
	if r := remoteStatus(t, st, "primary"); r.Lease != daemon.LeaseHeld {
		t.Fatalf("former standby converged without the lease: %+v", r)
	}
	if v := leaseValue(t, primary, owner); !strings.Contains(v, fmt.Sprintf(`"pid":%d`, standby.cmd.Process.Pid)) {
		t.Fatalf("lease key %q does not name the new active daemon", v)
	}

	// Someone overwrites the lease by hand: the daemon notices at its next
	// renewal, stops writing and stands by naming the new holder; once the
	// key is removed it takes the lease back and converges.
	foreign := fmt.Sprintf(`{"holder":{"host":"elsewhere","pid":1,"command":"lxnetd apply","id":"x"},"acquired":%q,"expires":%q}`,
		time.Now().UTC().Format(time.RFC3339), time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	primary.Lxc(t, "config", "set", lease.Key(owner), foreign)
	standby.waitFor(t, "standing by after the lease was taken", 30*time.Second, func(s *daemon.Status) bool {
		r := remoteStatus(t, s, "primary")
		return r.State == daemon.StateStandby && r.LeaseHolder == "lxnetd apply (pid 1 on host elsewhere)"
	})
	primary.Lxc(t, "config", "unset", lease.Key(owner))
	standby.waitFor(t, "active again", 30*time.Second, func(s *daemon.Status) bool {
		r := remoteStatus(t, s, "primary")
		return s.Converged() && r.Lease == daemon.LeaseHeld
	})
}
