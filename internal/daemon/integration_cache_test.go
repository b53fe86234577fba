//go:build integration

package daemon_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/internal/daemon"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestRunRepairsFromTheCache proves the event-fed cache against real LXD:
// after the first full read, a hand-deleted forward, a hand-removed proxy
// device and a hand edit of an owned profile are each corrected by reading
// only the object the event names (no full read, in the repair pass, in
// the pass its own write's echo causes, or in a profile's late read: the
// edit is a PATCH, whose event LXD sends before the change is visible, see
// daemon.LateRead); events about objects the
// configuration does not mention cause no pass and no write; a
// configuration edit is planned from the cache; a delete blocked by a
// container is made when the container's deletion event arrives; and a full read still
// happens at every resync_interval. It logs the drift-restore
// latency (hand delete returned → restored).
func TestRunRepairsFromTheCache(t *testing.T) {
	began := time.Now()
	primary := sandbox.Primary(t)
	br := sandbox.UniqueName(t, "cbr")
	cidr := primary.CreateBridge(t, br)
	fip := sandbox.FloatingIP(t)
	owner := sandbox.UniqueName(t, "cown")
	prof := sandbox.UniqueName(t, "cprof")
	gone, user := sandbox.UniqueName(t, "cgone"), sandbox.UniqueName(t, "cuser")
	t.Cleanup(func() {
		_, _ = primary.LxcErr("network", "forward", "delete", br, fip)
		_, _ = primary.LxcErr("profile", "delete", prof)
		_, _ = primary.LxcErr("delete", "--force", user)
		_, _ = primary.LxcErr("profile", "delete", gone)
	})
	goneHCL := fmt.Sprintf("\nprofile %q {\n  remote = remote.primary\n}\n", gone)
	dir := t.TempDir()
	config := func(resync string, extra ...string) string {
		return fmt.Sprintf("lxnet {\n  owner = %q\n  resync_interval = %q\n}\n\n", owner, resync) +
			remoteHCL("primary", primary.Remote(), "") + fmt.Sprintf(`
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

profile %q {
  remote = remote.primary
  config = { "user.cache" = "1" }
  device "admin" {
    type       = "proxy"
    properties = { listen = "tcp:127.0.0.1:18099", connect = "tcp:127.0.0.1:80" }
  }
}
`, br, fip, sandbox.HostIP(cidr, 10), prof) + strings.Join(extra, "")
	}
	writeFile(t, filepath.Join(dir, "lxnet.hcl"), config("1h", goneHCL))
	p := startLxnetd(t, dir)
	p.waitConverged(t, 60*time.Second)
	quiet(t, p)
	t.Logf("converged and quiet %v after the test began", time.Since(began).Round(time.Millisecond))

	// Each hand change is undone from the cache: one pass re-reads the
	// object, writes it, reads it back; its echo's pass reads at most the
	// object again. No full read in either.
	for _, c := range []struct {
		what   string
		change []string
		fixed  func() bool
	}{
		{"forward deleted", []string{"network", "forward", "delete", br, fip}, func() bool { return forwardExists(primary, br, fip) }},
		{"proxy device removed", []string{"profile", "device", "remove", prof, "admin"}, func() bool {
			out, err := primary.LxcErr("profile", "device", "show", prof)
			return err == nil && strings.Contains(out, "18099")
		}},
		// A PATCH, as the API sends it (lxc profile set sends a PUT).
		{"owned key edited", []string{"query", "-X", "PATCH", "/1.0/profiles/" + prof, "-d", `{"config":{"user.cache":"2"}}`}, func() bool {
			out, err := primary.LxcErr("profile", "get", prof, "user.cache")
			return err == nil && strings.TrimSpace(out) == "1"
		}},
	} {
		before := remoteStatus(t, p.status(t), "primary")
		primary.Lxc(t, c.change...)
		changed := time.Now()
		st := p.waitFor(t, c.what+" corrected", 60*time.Second, func(s *daemon.Status) bool {
			r := remoteStatus(t, s, "primary")
			return r.DriftCorrections > before.DriftCorrections && !r.Busy
		})
		took := time.Since(changed)
		if !c.fixed() {
			t.Fatalf("%s: the daemon counted a correction, but LXD does not show it", c.what)
		}
		after := quiet(t, p)
		r := remoteStatus(t, st, "primary")
		t.Logf("%s: corrected within %v of the hand change (status polled); %d passes, %d LXD requests, %d objects read",
			c.what, took.Round(time.Millisecond), after.Passes-before.Passes, after.Requests-before.Requests, after.ObjectReads-before.ObjectReads)
		if after.FullReads != before.FullReads || r.FullReads != before.FullReads {
			t.Errorf("%s: %d full reads during the repair and its echo, want none", c.what, after.FullReads-before.FullReads)
		}
		lo, hi := int64(2), int64(4)
		if c.what != "forward deleted" {
			lo, hi = 3, 5 // and a profile's late read (one per burst; two if the echo came a LateRead after the change)
		}
		if n := after.Passes - before.Passes; c.what != "forward deleted" && n < 3 {
			t.Errorf("%s: %d passes, want at least 3 (the repair, its echo's, the late read)", c.what, n)
		}
		if n := after.ObjectReads - before.ObjectReads; n < lo || n > hi {
			t.Errorf("%s: %d objects read, want %d to %d (the event's, the write's read-back, the echo's, a profile's late read)", c.what, n, lo, hi)
		}
		if n := after.Writes - before.Writes; n != 1 {
			t.Errorf("%s: %d writes, want 1", c.what, n)
		}
	}

	// Events about objects the configuration does not mention wake no pass.
	before := remoteStatus(t, p.status(t), "primary")
	other := sandbox.UniqueName(t, "cother")
	t.Cleanup(func() { _, _ = primary.LxcErr("profile", "delete", other) })
	primary.Lxc(t, "profile", "create", other)
	primary.Lxc(t, "profile", "set", other, "user.x", "1")
	primary.Lxc(t, "profile", "delete", other)
	p.waitFor(t, "the unrelated events", 30*time.Second, func(s *daemon.Status) bool {
		return remoteStatus(t, s, "primary").Events >= before.Events+3
	})
	time.Sleep(time.Second) // a pass would start within the worker's settle time (100 ms)
	after := remoteStatus(t, p.status(t), "primary")
	if after.Passes != before.Passes || after.Writes != before.Writes || after.FullReads != before.FullReads {
		t.Errorf("unrelated events: passes %d → %d, writes %d → %d, full reads %d → %d; want no change",
			before.Passes, after.Passes, before.Writes, after.Writes, before.FullReads, after.FullReads)
	}

	// A configuration edit is planned from the cache too: no full read.
	writeFile(t, filepath.Join(dir, "lxnet.hcl"), strings.Replace(config("1h", goneHCL), `"user.cache" = "1"`, `"user.cache" = "3"`, 1))
	edited := time.Now()
	p.waitFor(t, "the edit applied", 60*time.Second, func(s *daemon.Status) bool {
		r := remoteStatus(t, s, "primary")
		return r.Writes > after.Writes && s.Converged() && !r.Busy
	})
	t.Logf("configuration edit converged %v after the write (debounce 300 ms)", time.Since(edited).Round(time.Millisecond))
	after = quiet(t, p)
	if n := after.FullReads - before.FullReads; n != 0 {
		t.Errorf("%d full reads for a configuration edit, want none", n)
	}
	if out, err := primary.LxcErr("profile", "get", prof, "user.cache"); err != nil || strings.TrimSpace(out) != "3" {
		t.Errorf("user.cache after the edit: %q, %v; want 3", out, err)
	}

	// A delete blocked by a user lxnetd does not manage is made when that
	// user goes, from its event (instance-deleted), not at the next resync:
	// a profile dropped from the configuration stays while a container
	// made by hand uses it, and goes with one full read (the one every
	// delete is planned from) once the container is deleted.
	// (An empty container: no image to unpack, and used_by counts it.)
	primary.Lxc(t, "init", "--empty", user, "-p", "default", "-p", gone)
	writeFile(t, filepath.Join(dir, "lxnet.hcl"), strings.Replace(config("1h"), `"user.cache" = "1"`, `"user.cache" = "3"`, 1))
	st := p.waitFor(t, "the pass with the blocked delete", 60*time.Second, func(s *daemon.Status) bool {
		r := remoteStatus(t, s, "primary")
		return r.Passes > after.Passes && s.Converged() && !r.Busy
	})
	blocked := remoteStatus(t, st, "primary")
	if _, err := primary.LxcErr("profile", "show", gone); err != nil {
		t.Fatalf("profile %s deleted while %s uses it: %v", gone, user, err)
	}
	primary.Lxc(t, "delete", user)
	deleted := time.Now()
	st = p.waitFor(t, "the blocked delete made", 60*time.Second, func(s *daemon.Status) bool {
		r := remoteStatus(t, s, "primary")
		if r.Passes == blocked.Passes || r.Busy {
			return false
		}
		_, err := primary.LxcErr("profile", "show", gone)
		return err != nil
	})
	t.Logf("blocked delete made %v after its user was deleted (resync_interval 1h)", time.Since(deleted).Round(time.Millisecond))
	after = remoteStatus(t, st, "primary")
	if n := after.FullReads - blocked.FullReads; n != 1 {
		t.Errorf("%d full reads to lift the block, want 1 (the delete is planned from one)", n)
	}

	// A short resync_interval: full reads come back on their own.
	writeFile(t, filepath.Join(dir, "lxnet.hcl"), config("1s"))
	resync := time.Now()
	p.waitFor(t, "two full reads at resync", 60*time.Second, func(s *daemon.Status) bool {
		return remoteStatus(t, s, "primary").FullReads >= after.FullReads+2
	})
	t.Logf("two full reads %v after resync_interval became 1s; test took %v", time.Since(resync).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

// quiet waits until the remote's pass count has stopped moving: no pass
// running and none started for half a second past daemon.LateRead (the
// worker settles 100 ms before a pass; a profile event wakes one more pass
// LateRead after it), and returns its status then.
func quiet(t *testing.T, p *proc) daemon.RemoteStatus {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	last := remoteStatus(t, p.status(t), "primary")
	since := time.Now()
	for time.Since(since) < daemon.LateRead+500*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("the daemon did not quieten within 60s: %+v", last)
		}
		time.Sleep(20 * time.Millisecond)
		r := remoteStatus(t, p.status(t), "primary")
		if r.Passes != last.Passes || r.Busy {
			since = time.Now()
		}
		last = r
	}
	return last
}
