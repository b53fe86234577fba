//go:build integration

package daemon_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/internal/daemon"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestRunIdle200Objects: with 200 owned objects converged, 60 idle seconds
// cost no LXD write, no pass and next to no CPU. The objects live in a
// project of their own, whose event stream only this daemon's objects feed,
// so "zero events" means no one wrote there.
func TestRunIdle200Objects(t *testing.T) {
	if testing.Short() {
		t.Skip("takes over a minute; run without -short")
	}
	primary := sandbox.Primary(t)
	project := sandbox.UniqueName(t, "didle")
	primary.Lxc(t, "project", "create", project, "-c", "features.profiles=true", "-c", "features.images=false", "-c", "features.storage.volumes=false")
	t.Cleanup(func() {
		out, _ := primary.LxcErr("profile", "list", "--project", project, "--format", "csv")
		for _, line := range strings.Split(out, "\n") {
			name, _, _ := strings.Cut(line, ",")
			if name != "" && name != "default" {
				_, _ = primary.LxcErr("profile", "delete", "--project", project, name)
			}
		}
		if out, err := primary.LxcErr("project", "delete", project); err != nil {
			t.Errorf("deleting project %s: %v\n%s", project, err, out)
		}
	})

	const n = 200
	var b strings.Builder
	fmt.Fprintf(&b, "lxnet {\n  owner = %q\n  resync_interval = \"1h\"\n}\n\n", project)
	b.WriteString(remoteHCL("p", primary.Remote(), project))
	for i := range n {
		fmt.Fprintf(&b, "\nprofile \"%s-%03d\" {\n  remote = remote.p\n  config = { \"user.index\" = \"%d\" }\n}\n", project, i, i)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "profiles.hcl"), b.String())

	start := time.Now()
	p := startLxnetd(t, dir)
	st := p.waitConverged(t, 3*time.Minute)
	r := remoteStatus(t, st, "p")
	t.Logf("converged %d objects in %v (%d writes)", r.Objects, time.Since(start).Round(time.Millisecond), r.Writes)
	if r.Objects != n {
		t.Fatalf("objects = %d, want %d", r.Objects, n)
	}

	// Let the echoes of our own writes settle into their no-op pass: wait
	// until no pass runs and none started for 3 s.
	var before daemon.RemoteStatus
	for quiet := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		r := remoteStatus(t, p.status(t), "p")
		if r.Busy || r.Passes != before.Passes {
			before, quiet = r, time.Now()
			continue
		}
		if time.Since(quiet) > 3*time.Second {
			break
		}
	}
	// An independent witness of writes: LXD's own lifecycle stream of the
	// project, where only this daemon writes.
	mon := startMonitor(t, primary, project)
	cpu0 := cpuTime(t, p.cmd.Process.Pid)
	const idle = 60 * time.Second
	time.Sleep(idle)
	cpu1 := cpuTime(t, p.cmd.Process.Pid)
	after := remoteStatus(t, p.status(t), "p")
	lxdEvents := mon.count()

	cpu := cpu1 - cpu0
	t.Logf("idle %v with %d owned objects: %d lifecycle events in the project (LXD's monitor), %d writes and %d passes by lxnetd, %d events received (the adapter also forwards the default project's network events), %v CPU (%.3f%% of one core)",
		idle, n, lxdEvents, after.Writes-before.Writes, after.Passes-before.Passes, after.Events-before.Events, cpu, 100*cpu.Seconds()/idle.Seconds())
	if lxdEvents != 0 {
		t.Errorf("LXD reported %d lifecycle events in the project while idle, want 0: %q", lxdEvents, mon.lines())
	}
	if after.Writes != before.Writes {
		t.Errorf("%d writes while idle, want 0", after.Writes-before.Writes)
	}
	if after.Passes != before.Passes {
		t.Errorf("%d passes while idle (resync is 1h), want 0", after.Passes-before.Passes)
	}
	if cpu > 500*time.Millisecond {
		t.Errorf("idle CPU %v over %v, want near zero (< 500ms)", cpu, idle)
	}

	// The zero above is meaningful only if the stream was live: delete one
	// owned profile by hand; the event arrives and the profile is back fast.
	victim := fmt.Sprintf("%s-%03d", project, 7)
	primary.Lxc(t, "profile", "delete", "--project", project, victim)
	deleted := time.Now()
	for {
		if _, err := primary.LxcErr("profile", "show", "--project", project, victim); err == nil {
			break
		}
		if time.Since(deleted) > 10*time.Second {
			t.Fatalf("profile %s not restored within 10s", victim)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("profile deleted by hand restored after %v", time.Since(deleted).Round(time.Millisecond))
	// The monitor was live: it saw the delete and the restore.
	for start := time.Now(); mon.count() < 2; time.Sleep(50 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("lxc monitor saw %d events for the delete and restore, want 2: the zero above proves nothing", mon.count())
		}
	}
	p.waitFor(t, "event counted", 5*time.Second, func(s *daemon.Status) bool {
		return remoteStatus(t, s, "p").Events > after.Events
	})

	// The echo of lxnetd's own write costs at most one more pass, with an
	// empty plan: one pass recreated the profile, at most one found nothing.
	time.Sleep(3 * time.Second)
	final := remoteStatus(t, p.status(t), "p")
	t.Logf("after the manual delete: %d passes, %d writes, %d events", final.Passes-after.Passes, final.Writes-after.Writes, final.Events-after.Events)
	if w := final.Writes - after.Writes; w != 1 {
		t.Errorf("%d writes to restore one profile, want 1", w)
	}
	if m := mon.count() - lxdEvents; m != 2 {
		t.Errorf("LXD saw %d lifecycle events for one manual delete, want 2 (the delete and one create): %q", m, mon.lines())
	}
	if n := final.Passes - after.Passes; n < 1 || n > 2 {
		t.Errorf("%d passes for one manual delete, want 1 or 2 (own writes may cause one no-op pass)", n)
	}
}

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
	p := startLxnetd(t, dir)
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

	// Restart it with the sandbox script; lxnetd reconnects and converges
	// it without being restarted.
	restarted := time.Now()
	restartPrivate(t, private)
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

// restartPrivate starts a private sandbox daemon again with sandbox.sh up,
// with the environment sandbox.Private gave it (its directory, only the
// primary daemon, its own floating-IP link), so the script restarts exactly
// that daemon and creates nothing new.
func restartPrivate(t *testing.T, d *sandbox.Daemon) {
	t.Helper()
	root := filepath.Dir(d.Dir)
	id := strings.TrimPrefix(filepath.Base(root), "lxnetd-sandbox-private-")
	if id == filepath.Base(root) || len(id) < 6 {
		t.Fatalf("cannot derive the private sandbox id from %s", root)
	}
	float := "lxp" + id[:6]
	if err := exec.Command("ip", "link", "show", float+"0").Run(); err != nil {
		t.Fatalf("the private sandbox's floating link %s0 is missing (derivation out of date?): %v", float, err)
	}
	cmd := exec.Command(filepath.Join("..", "sandbox", "sandbox.sh"), "up")
	cmd.Env = append(os.Environ(), "LXNETD_SANDBOX_DIR="+root, "LXNETD_SANDBOX_DAEMONS=primary", "LXNETD_SANDBOX_FLOAT="+float)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sandbox.sh up for the private daemon: %v\n%s", err, out)
	}
}

// monitor runs `lxc monitor --type=lifecycle` on one project and collects
// the events that name a profile.
type monitor struct {
	mu  sync.Mutex
	evs []string
}

func startMonitor(t *testing.T, d *sandbox.Daemon, project string) *monitor {
	t.Helper()
	m := &monitor{}
	cmd := exec.Command("lxc", "monitor", "--type=lifecycle", "--project", project, "--format=json")
	cmd.Env = append(os.Environ(), "LXD_DIR="+d.Dir, "LXD_CONF="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("lxc monitor: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	go func() {
		dec := json.NewDecoder(out)
		for {
			var ev struct {
				Metadata struct {
					Action string `json:"action"`
					Source string `json:"source"`
				} `json:"metadata"`
			}
			if err := dec.Decode(&ev); err != nil {
				return
			}
			m.mu.Lock()
			m.evs = append(m.evs, ev.Metadata.Action+" "+ev.Metadata.Source)
			m.mu.Unlock()
		}
	}()
	time.Sleep(500 * time.Millisecond) // let it subscribe
	return m
}

func (m *monitor) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.evs)
}

func (m *monitor) lines() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.evs...)
}
