//go:build integration

package daemon_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	// Longer than the directory watcher's 30 s rescan, the one periodic
	// timer of an idle daemon (resync is 1h here), so its cost is counted.
	const idle = 35 * time.Second
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
	p.waitFor(t, "event counted", 30*time.Second, func(s *daemon.Status) bool {
		return remoteStatus(t, s, "p").Events > after.Events
	})

	// The echo of lxnetd's own write costs at most one more pass, with an
	// empty plan: one pass recreated the profile, at most one found nothing;
	// and a profile's events are read once more LateRead after them (one
	// more pass).
	time.Sleep(daemon.LateRead + 3*time.Second)
	final := remoteStatus(t, p.status(t), "p")
	t.Logf("after the manual delete: %d passes, %d writes, %d events", final.Passes-after.Passes, final.Writes-after.Writes, final.Events-after.Events)
	if w := final.Writes - after.Writes; w != 1 {
		t.Errorf("%d writes to restore one profile, want 1", w)
	}
	if m := mon.count() - lxdEvents; m != 2 {
		t.Errorf("LXD saw %d lifecycle events for one manual delete, want 2 (the delete and one create): %q", m, mon.lines())
	}
	if n := final.Passes - after.Passes; n < 1 || n > 3 {
		t.Errorf("%d passes for one manual delete, want 1 to 3 (own writes may cause one no-op pass, the late read one more)", n)
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
