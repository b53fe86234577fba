//go:build integration

package daemon_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lxnetd/lxnetd/internal/daemon"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// hostIn returns the n-th address of a 10.231.X.0/24.
func hostIn(t *testing.T, cidr string, n int) string {
	t.Helper()
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		t.Fatal(err)
	}
	a := p.Masked().Addr().As4()
	a[3] = byte(n)
	return netip.AddrFrom4(a).String()
}

func forwardExists(d *sandbox.Daemon, network, listen string) bool {
	_, err := d.LxcErr("network", "forward", "show", network, listen)
	return err == nil
}

// TestRunForwardLifecycle proves the file-driven loop against real LXD: a
// file with a forward makes it appear and carry traffic, manual deletion of
// the owned forward is undone within 2 s, an unowned forward is left alone,
// invalid edits (garbage, a truncated file, a zero-byte file, an emptied
// directory) delete nothing and are reported with file and line, fixing
// converges again, and deleting the file removes the forward. It runs on
// LXD and on Incus (the configuration's remote is "primary" on both).
func TestRunForwardLifecycle(t *testing.T) {
	for _, primary := range sandbox.Servers(t) {
		// One after the other: both tests hold timing bars (drift fixed
		// within 2 s, watchdog pings) that two daemons at once on a small
		// machine would blur.
		t.Run(primary.Kind, func(t *testing.T) {
			testRunForwardLifecycle(t, primary)
		})
	}
}

func testRunForwardLifecycle(t *testing.T, primary *sandbox.Daemon) {
	br := sandbox.UniqueName(t, "dbr")
	cidr := primary.CreateBridge(t, br)
	node := sandbox.UniqueName(t, "dweb")
	ip := hostIn(t, cidr, 10)
	primary.LaunchBusybox(t, node, br, ip)
	fip := sandbox.FloatingIP(t)
	owner := sandbox.UniqueName(t, "down")
	// Runs after the daemon stopped (cleanups run last-in first-out): never
	// leave a forward behind on the bridge the sandbox deletes.
	t.Cleanup(func() { _, _ = primary.LxcErr("network", "forward", "delete", br, fip) })

	// base.hcl also declares a profile: deleting web.hcl then leaves a
	// non-empty desired set (deleting everything lxnetd owns on a remote
	// needs allow_empty = true, which the safety gate tests cover).
	keep := sandbox.UniqueName(t, "dkeep")
	t.Cleanup(func() { _, _ = primary.LxcErr("profile", "delete", keep) })
	dir := t.TempDir()
	base := fmt.Sprintf("lxnet {\n  owner = %q\n  resync_interval = \"1h\"\n  max_deletes = 10\n}\n\n", owner) +
		remoteHCL("primary", primary.Remote(), "") +
		fmt.Sprintf("\nprofile %q {\n  remote = remote.primary\n}\n", keep)
	web := fmt.Sprintf(`forward "web" {
  remote         = remote.primary
  network        = %q
  listen_address = %q
  port {
    protocol       = "tcp"
    listen_port    = "8080"
    target_address = %q
    target_port    = "80"
  }
}
`, br, fip, ip)
	writeFile(t, filepath.Join(dir, "base.hcl"), base)
	p := startLxnetd(t, dir)
	st := p.waitConverged(t, 60*time.Second)
	t.Logf("started: %s", st.Line())
	if got, want := remoteStatus(t, st, "primary").Server, primary.Server(t); got != want {
		t.Errorf("status names the server %q, want %q", got, want)
	}

	// Adding a file with a forward makes it appear and carry traffic.
	start := time.Now()
	writeFile(t, filepath.Join(dir, "web.hcl"), web)
	for !forwardExists(primary, br, fip) {
		if time.Since(start) > 60*time.Second {
			t.Fatalf("forward %s on %s did not appear within 60s", fip, br)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("forward appeared %v after the file was written", time.Since(start).Round(time.Millisecond))
	body := sandbox.HTTPGet(t, fmt.Sprintf("http://%s:8080/", fip), 20*time.Second)
	if !strings.Contains(body, node) {
		t.Fatalf("GET through the forward returned %q, want the page of %s", body, node)
	}
	st = p.waitConverged(t, 60*time.Second)
	r := remoteStatus(t, st, "primary")
	if r.Objects != 2 {
		t.Errorf("objects = %d, want 2 (profile and forward)", r.Objects)
	}

	// lxnetd's own write echoes back as LXD events: at most one extra, empty
	// pass. (Other tests share the daemon, so foreign events may add passes
	// here; the idle test proves zero writes strictly in its own project.)
	writesBefore := r.Writes
	time.Sleep(2 * time.Second)
	r = remoteStatus(t, p.status(t), "primary")
	if r.Writes != writesBefore {
		t.Errorf("writes went from %d to %d while nothing changed: the daemon loops on its own events", writesBefore, r.Writes)
	}

	// Deleting the owned forward by hand is undone by the event it causes:
	// resync_interval is 1h, so a restore at all is the event's doing. The
	// time is logged (about 0.1-0.3 s on a quiet machine; make bench
	// measures it) and bounded only loosely: a loaded machine makes any
	// tight bound luck.
	drift := r.DriftCorrections
	primary.Lxc(t, "network", "forward", "delete", br, fip)
	deleted := time.Now()
	for !forwardExists(primary, br, fip) {
		if time.Since(deleted) > 60*time.Second {
			t.Fatalf("deleted forward not restored within 60s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(deleted)
	t.Logf("manually deleted forward restored after %v", took.Round(time.Millisecond))
	sandbox.HTTPGet(t, fmt.Sprintf("http://%s:8080/", fip), 10*time.Second)
	p.waitFor(t, "drift counted", 30*time.Second, func(s *daemon.Status) bool {
		return remoteStatus(t, s, "primary").DriftCorrections > drift
	})

	// An unowned forward is never touched: not deleted while it exists, not
	// recreated after a manual delete.
	fip2 := sandbox.FloatingIP(t)
	t.Cleanup(func() { _, _ = primary.LxcErr("network", "forward", "delete", br, fip2) })
	primary.Lxc(t, "network", "forward", "create", br, fip2)
	time.Sleep(1500 * time.Millisecond)
	if !forwardExists(primary, br, fip2) {
		t.Fatalf("lxnetd deleted the unowned forward %s", fip2)
	}
	primary.Lxc(t, "network", "forward", "delete", br, fip2)
	time.Sleep(2 * time.Second)
	if forwardExists(primary, br, fip2) {
		t.Fatalf("lxnetd recreated the unowned forward %s", fip2)
	}

	// Invalid edits: each is rejected, names file and line, deletes nothing.
	invalid := []struct{ name, content, want string }{
		{"garbage", "forward \"web\" {\n  ###\x00\x01 nonsense = = =\n", `^web\.hcl:\d+,\d+`},
		{"truncated", web[:len(web)/2], `^web\.hcl:\d+,\d+`},
		{"zero bytes", "", `^web\.hcl:1,1-1: Empty configuration file`},
	}
	for _, c := range invalid {
		writeFile(t, filepath.Join(dir, "web.hcl"), c.content)
		st := p.waitFor(t, c.name+" rejected", 30*time.Second, func(s *daemon.Status) bool {
			return regexp.MustCompile(c.want).MatchString(s.ConfigError)
		})
		t.Logf("%s: STATUS=%s", c.name, st.Line())
		if !strings.Contains(st.Line(), "rejected edit: web.hcl:") {
			t.Errorf("%s: status line %q does not name the file", c.name, st.Line())
		}
		time.Sleep(500 * time.Millisecond)
		if !forwardExists(primary, br, fip) {
			t.Fatalf("%s: the forward was deleted", c.name)
		}
		// Fixing the file clears the rejection (so the next case is judged
		// on its own diagnostics).
		writeFile(t, filepath.Join(dir, "web.hcl"), web)
		p.waitFor(t, c.name+" fixed", 60*time.Second, func(s *daemon.Status) bool { return s.ConfigError == "" && s.Converged() })
	}
	// Emptying the directory.
	for _, f := range []string{"web.hcl", "base.hcl"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	st = p.waitFor(t, "empty directory rejected", 30*time.Second, func(s *daemon.Status) bool {
		return strings.Contains(s.ConfigError, "no *.hcl configuration files")
	})
	t.Logf("emptied directory: STATUS=%s", st.Line())
	time.Sleep(500 * time.Millisecond)
	if !forwardExists(primary, br, fip) {
		t.Fatal("emptying the directory deleted the forward")
	}
	sandbox.HTTPGet(t, fmt.Sprintf("http://%s:8080/", fip), 10*time.Second)

	// Fixing converges again.
	writeFile(t, filepath.Join(dir, "base.hcl"), base)
	writeFile(t, filepath.Join(dir, "web.hcl"), web)
	st = p.waitFor(t, "fixed", 60*time.Second, func(s *daemon.Status) bool {
		return s.ConfigError == "" && s.Converged()
	})
	t.Logf("fixed: STATUS=%s", st.Line())

	// Deleting the file removes the forward.
	start = time.Now()
	if err := os.Remove(filepath.Join(dir, "web.hcl")); err != nil {
		t.Fatal(err)
	}
	for forwardExists(primary, br, fip) {
		if time.Since(start) > 60*time.Second {
			t.Fatal("forward still exists 60s after its file was deleted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("forward removed %v after its file was deleted", time.Since(start).Round(time.Millisecond))
	st = p.waitConverged(t, 60*time.Second)
	if n := remoteStatus(t, st, "primary").Objects; n != 1 {
		t.Errorf("objects = %d after deleting the file, want 1 (the profile)", n)
	}
	if err := p.stop(t); err != nil {
		t.Errorf("lxnetd exited with %v after SIGTERM, want 0", err)
	}
}

// TestRunNotifySequence asserts the exact sd_notify conversation with a fake
// systemd listening on NOTIFY_SOCKET, with the watchdog enabled, on LXD and
// on Incus.
func TestRunNotifySequence(t *testing.T) {
	for _, primary := range sandbox.Servers(t) {
		// One after the other: both tests hold timing bars (drift fixed
		// within 2 s, watchdog pings) that two daemons at once on a small
		// machine would blur.
		t.Run(primary.Kind, func(t *testing.T) {
			testRunNotifySequence(t, primary)
		})
	}
}

func testRunNotifySequence(t *testing.T, primary *sandbox.Daemon) {
	owner := sandbox.UniqueName(t, "dnot")
	prof := sandbox.UniqueName(t, "dnotp")
	t.Cleanup(func() { _, _ = primary.LxcErr("profile", "delete", prof) })
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "main.hcl"), fmt.Sprintf("lxnet {\n  owner = %q\n  resync_interval = \"1h\"\n}\n", owner)+
		remoteHCL("primary", primary.Remote(), "")+
		fmt.Sprintf("profile %q {\n  remote = remote.primary\n  config = { \"user.lxnetd-test\" = \"notify\" }\n}\n", prof))

	n := listenNotify(t)
	const watchdogUsec = 400000
	p := startLxnetd(t, dir, "NOTIFY_SOCKET="+n.path, fmt.Sprintf("WATCHDOG_USEC=%d", watchdogUsec))

	// The primary is shared with other tests, whose writes can make a pass
	// fail (a network deleted between two reads); STATUS= updates may then
	// come at any time. The lifecycle messages — READY, RELOADING, STOPPING —
	// must come in exactly this order, each alone or with its STATUS.
	var statuses []string
	next := func(d time.Duration, skipStatus bool) string {
		t.Helper()
		deadline := time.Now().Add(d)
		for {
			m := n.next(time.Until(deadline))
			switch {
			case m == "":
				t.Fatalf("no sd_notify datagram within %v", d)
			case m == "WATCHDOG=1":
				continue
			case skipStatus && strings.HasPrefix(m, "STATUS=") && !strings.Contains(m, "\n"):
				statuses = append(statuses, m)
				continue
			}
			return m
		}
	}
	readyRe := regexp.MustCompile(`^READY=1\nSTATUS=[01]/1 remotes converged, [01] objects, (primary: [^\n]*, )?config [0-9a-f]{12}$`)
	// Only EXTEND_TIMEOUT_USEC may precede READY, while a loaded LXD makes
	// the first pass slow.
	ready := n.next(60 * time.Second)
	for extends := 0; regexp.MustCompile(`^EXTEND_TIMEOUT_USEC=\d+$`).MatchString(ready); extends++ {
		t.Logf("before READY: %q", ready)
		ready = n.next(60 * time.Second)
	}
	if !readyRe.MatchString(ready) {
		t.Fatalf("first datagram %q, want %v (only EXTEND_TIMEOUT_USEC may precede READY)", ready, readyRe)
	}
	t.Logf("READY: %q", ready)

	// lxnetd status: --wait-converged returns once converged, then the
	// human table and --json.
	out, err := exec.Command(lxnetdBin, "status", "--socket", p.socket, "--wait-converged", "--timeout", "60s").CombinedOutput()
	if err != nil {
		t.Fatalf("lxnetd status --wait-converged: %v\n%s", err, out)
	}
	t.Logf("lxnetd status:\n%s", out)
	if !regexp.MustCompile(`(?m)^primary `+regexp.QuoteMeta("("+primary.Server(t)+")")+` +converged +1 `).Match(out) || !strings.Contains(string(out), "1/1 remotes converged") {
		t.Errorf("lxnetd status output lacks the converged primary row:\n%s", out)
	}
	out, err = exec.Command(lxnetdBin, "status", "--socket", p.socket, "--json").Output()
	if err != nil {
		t.Fatalf("lxnetd status --json: %v", err)
	}
	var js daemon.Status
	if err := json.Unmarshal(out, &js); err != nil || len(js.Remotes) != 1 || js.Remotes[0].Name != "primary" || js.Remotes[0].Objects != 1 || !js.Converged() {
		t.Errorf("lxnetd status --json: %v\n%s", err, out)
	}

	// Watchdog pings at half WATCHDOG_USEC while idle.
	// Intervals come from the kernel's receive times: a loaded test reads
	// several pings at once, but they arrived when the daemon sent them.
	var pings []time.Time
	for deadline, seen := time.Now().Add(30*time.Second), 0; seen < 6; {
		m := n.next(time.Until(deadline))
		switch {
		case m == "WATCHDOG=1":
			seen++
			if all := n.pingTimes(); seen == 6 {
				pings = all[len(all)-6:]
			}
		case strings.HasPrefix(m, "STATUS=") && !strings.Contains(m, "\n"):
			statuses = append(statuses, m)
		default:
			t.Fatalf("while idle got %q, want WATCHDOG=1 (or STATUS=)", m)
		}
	}
	avg := pings[len(pings)-1].Sub(pings[0]) / time.Duration(len(pings)-1)
	t.Logf("watchdog pings every %v (WATCHDOG_USEC=%dus)", avg.Round(time.Millisecond), watchdogUsec)
	// Half of WATCHDOG_USEC is the aim; a loaded machine may delay a ping,
	// but never past WATCHDOG_USEC itself, where systemd would kill the daemon.
	if limit := time.Duration(watchdogUsec) * time.Microsecond; avg < 150*time.Millisecond || avg >= limit {
		t.Errorf("watchdog interval %v, want about 200ms (half of WATCHDOG_USEC), below %v", avg, limit)
	}

	monoNow := func() int64 {
		var ts unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
			t.Fatal(err)
		}
		return ts.Nano() / 1000
	}
	// expectReload: RELOADING=1 and MONOTONIC_USEC (now) in one datagram,
	// then READY=1 with the status line, nothing else in between.
	expectReload := func(what string, before int64) string {
		t.Helper()
		m := next(10*time.Second, true)
		after := monoNow()
		var usec int64
		if _, err := fmt.Sscanf(m, "RELOADING=1\nMONOTONIC_USEC=%d", &usec); err != nil || strings.Count(m, "\n") != 1 {
			t.Fatalf("%s: got %q, want RELOADING=1 and MONOTONIC_USEC in one datagram", what, m)
		}
		if usec < before || usec > after {
			t.Errorf("%s: MONOTONIC_USEC=%d not within [%d, %d]", what, usec, before, after)
		}
		r := next(10*time.Second, false)
		if !strings.HasPrefix(r, "READY=1\nSTATUS=") {
			t.Fatalf("%s: after RELOADING got %q, want READY=1 with STATUS", what, r)
		}
		return r
	}

	// SIGHUP.
	before := monoNow()
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if r := expectReload("SIGHUP", before); !readyRe.MatchString(r) {
		t.Errorf("READY after SIGHUP = %q", r)
	}

	// An invalid edit: STATUS names the file and line (from the watcher),
	// `lxnetd reload` fails with the diagnostics, and the daemon still
	// answers RELOADING ... READY=1.
	writeFile(t, filepath.Join(dir, "zz.hcl"), "forward \"x\" {\n  bogus = 1\n}\n")
	rejected := regexp.MustCompile(`; rejected edit: zz\.hcl:\d+,\d+`)
	for {
		m := next(10*time.Second, false)
		if !strings.HasPrefix(m, "STATUS=") || strings.Contains(m, "\n") {
			t.Fatalf("after an invalid edit got %q, want STATUS=", m)
		}
		if rejected.MatchString(m) {
			t.Logf("invalid edit: %q", m)
			break
		}
	}
	before = monoNow()
	out, err = exec.Command(lxnetdBin, "reload", "--socket", p.socket).CombinedOutput()
	if code := exitCode(err); code != 1 || !strings.Contains(string(out), "zz.hcl:") {
		t.Errorf("lxnetd reload with an invalid file: exit %d, output %q; want exit 1 and the diagnostics", code, out)
	}
	t.Logf("lxnetd reload said:\n%s", out)
	if r := expectReload("rejected reload", before); !rejected.MatchString(r) {
		t.Errorf("READY after a rejected reload = %q, want the rejected edit in STATUS", r)
	}

	// Fixing the file clears the rejection; `lxnetd reload` then exits 0.
	if err := os.Remove(filepath.Join(dir, "zz.hcl")); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, "rejection cleared", 10*time.Second, func(s *daemon.Status) bool { return s.ConfigError == "" })
	before = monoNow()
	out, err = exec.Command(lxnetdBin, "reload", "--socket", p.socket).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "configuration unchanged") {
		t.Errorf("lxnetd reload: %v %q", err, out)
	}
	if r := expectReload("good reload", before); rejected.MatchString(r) {
		t.Errorf("READY after fixing still reports the rejection: %q", r)
	}

	// SIGTERM: STOPPING=1 first, then exit 0 and silence.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if m := next(10*time.Second, true); m != "STOPPING=1\nSTATUS=stopping" {
		t.Fatalf("on SIGTERM got %q, want STOPPING=1 first", m)
	}
	if err := p.stop(t); err != nil {
		t.Fatalf("exit after SIGTERM: %v, want 0", err)
	}
	if m := n.next(300 * time.Millisecond); m != "" {
		t.Errorf("datagram after STOPPING: %q", m)
	}
	t.Logf("%d interleaved STATUS updates: %q", len(statuses), statuses)
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}
