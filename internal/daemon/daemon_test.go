package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/config/files"
	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// fakeLoader reads a toy format: every line "remote NAME [N]" declares a
// remote with N desired objects; a line "invalid" makes the file fail at
// that line, like an HCL diagnostic would; a blank file fails as
// config.Load fails it (the shared rule of package config/files).
func fakeLoader(dir string) (*spec.Config, error) {
	names, err := ConfigFiles(dir)
	if err != nil {
		return nil, err
	}
	cfg := &spec.Config{Remotes: map[string]*spec.Remote{}, Hash: HashDir(dir),
		Settings: spec.Settings{MaxDeletes: 10, ResyncInterval: time.Hour}}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		if files.Blank(b) {
			return nil, &ConfigError{Summary: n + ":1,1-1: Empty configuration file"}
		}
		for i, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) == 0:
			case f[0] == "remote" && len(f) >= 2:
				r := &spec.Remote{Name: f[1], Address: "fake://" + f[1]}
				if len(f) == 3 {
					var k int
					fmt.Sscan(f[2], &k)
					for j := range k {
						r.Profiles = append(r.Profiles, spec.Profile{Name: fmt.Sprint("p", j)})
					}
				}
				cfg.Remotes[f[1]] = r
			default:
				return nil, &ConfigError{
					Summary: fmt.Sprintf("%s:%d,1-%d: Unsupported block type", n, i+1, len(line)+1),
					Detail:  fmt.Sprintf("Error: Unsupported block type\n\n  on %s line %d:\n  %d: %s\n", n, i+1, i+1, line),
				}
			}
		}
	}
	return cfg, nil
}

// fakeLXD is a connector whose sessions record passes; remotes listed in
// down refuse connections.
type fakeLXD struct {
	mu       sync.Mutex
	down     map[string]bool
	passes   map[string]int
	desired  map[string]int // desired object count seen by the last pass
	sessions map[string]*fakeSession
	owned    map[string]int
	failing  map[string]bool // passes fail (connection stays up)
	connects atomic.Int64
	leases   sync.Map // remote name → *lease.MemStore, its server configuration (lease_test.go)
}

func newFakeLXD() *fakeLXD {
	return &fakeLXD{down: map[string]bool{}, passes: map[string]int{}, desired: map[string]int{},
		sessions: map[string]*fakeSession{}, owned: map[string]int{}, failing: map[string]bool{}}
}

func (f *fakeLXD) setDown(name string, down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down[name] = down
	if s := f.sessions[name]; s != nil && down {
		s.breakStream(errors.New("websocket: close 1006 (abnormal closure)"))
	}
}

func (f *fakeLXD) passCount(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.passes[name]
}

func (f *fakeLXD) connect(ctx context.Context, r *spec.Remote) (Session, error) {
	f.connects.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down[r.Name] {
		return nil, fmt.Errorf("dial unix /fake/%s: connect: connection refused", r.Name)
	}
	s := &fakeSession{lxd: f, name: r.Name, broken: make(chan error, 1), events: make(chan engine.Event, 16)}
	f.sessions[r.Name] = s
	return s, nil
}

type fakeSession struct {
	lxd    *fakeLXD
	name   string
	broken chan error
	events chan engine.Event
}

func (s *fakeSession) breakStream(err error) {
	select {
	case s.broken <- err:
	default:
	}
}

func (s *fakeSession) Converge(ctx context.Context, desired *spec.Remote, st spec.Settings) (Outcome, error) {
	f := s.lxd
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down[s.name] {
		return Outcome{}, errors.New("connection refused")
	}
	f.passes[s.name]++
	if f.failing[s.name] {
		return Outcome{}, errors.New("creating network: dnsmasq: address already in use")
	}
	want := 0
	if desired != nil {
		want = len(desired.Networks) + len(desired.Profiles) + len(desired.Instances) + len(desired.Forwards) + len(desired.Exposures)
	}
	f.desired[s.name] = want
	p := &engine.Plan{Remote: s.name, Owned: f.owned[s.name]}
	for i := range max(f.owned[s.name]-want, 0) {
		p.Changes = append(p.Changes, &engine.Change{Addr: engine.Address{Kind: engine.KindProfile, Name: fmt.Sprint("p", i)}, Action: engine.Delete})
	}
	if err := engine.Gate(p, desired, st, engine.GateOptions{}); err != nil {
		why, err := refusal(err)
		return Outcome{Objects: f.owned[s.name], Refused: why}, err
	}
	applied := abs(want - f.owned[s.name])
	f.owned[s.name] = want
	return Outcome{Objects: want, Applied: applied, PlanID: fmt.Sprint(f.passes[s.name])}, nil
}

func profileEvent(name string) engine.Event {
	return engine.Event{Object: engine.Address{Kind: engine.KindProfile, Name: name}}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func (s *fakeSession) Watch(ctx context.Context, onEvent func(engine.Event)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-s.broken:
			return err
		case src := <-s.events:
			onEvent(src)
		}
	}
}

func (s *fakeSession) Close() {}

// notifyListener is a fake systemd: a unixgram socket named by NOTIFY_SOCKET
// that records every datagram.
type notifyListener struct {
	mu   sync.Mutex
	msgs []string
	c    chan string
}

func listenNotify(t *testing.T) *notifyListener {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	n := &notifyListener{c: make(chan string, 1024)}
	go func() {
		buf := make([]byte, 65536)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				return
			}
			m := string(buf[:k])
			n.mu.Lock()
			n.msgs = append(n.msgs, m)
			n.mu.Unlock()
			n.c <- m
		}
	}()
	return n
}

// next returns the next datagram that is not a bare STATUS= or WATCHDOG=1
// update (unless want asks for those), failing after a timeout.
func (n *notifyListener) next(t *testing.T, skip ...string) string {
	t.Helper()
	deadline := time.After(patience)
	for {
		select {
		case m := <-n.c:
			skipped := false
			for _, p := range skip {
				if strings.HasPrefix(m, p) {
					skipped = true
				}
			}
			if !skipped {
				return m
			}
		case <-deadline:
			t.Fatalf("no sd_notify message within %v (got so far: %q)", patience, n.all())
			return ""
		}
	}
}

func (n *notifyListener) all() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.msgs...)
}

type harness struct {
	t      *testing.T
	dir    string
	lxd    *fakeLXD
	d      *Daemon
	sigs   chan os.Signal
	done   chan error
	cancel context.CancelFunc
}

func startDaemon(t *testing.T, files map[string]string, lxd *fakeLXD) *harness {
	t.Helper()
	return startDaemonWith(t, files, lxd, nil)
}

// startDaemonWith lets tweak adjust the daemon before it runs.
func startDaemonWith(t *testing.T, files map[string]string, lxd *fakeLXD, tweak func(*Daemon)) *harness {
	t.Helper()
	dir := t.TempDir()
	for n, c := range files {
		write(t, filepath.Join(dir, n), c)
	}
	h := &harness{t: t, dir: dir, lxd: lxd, sigs: make(chan os.Signal, 4), done: make(chan error, 1)}
	h.d = &Daemon{
		Dir:           dir,
		Load:          fakeLoader,
		Connect:       lxd.connect,
		Log:           discard(),
		Notify:        &Notifier{},
		Socket:        filepath.Join(t.TempDir(), "ctl", "control.sock"),
		Signals:       h.sigs,
		WatchdogEvery: 50 * time.Millisecond,
		timings: workerTimings{Settle: 10 * time.Millisecond, ConnectTimeout: time.Second,
			MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, ReconnectAfter: 2},
	}
	w := NewDirWatcher(dir, discard())
	w.Debounce, w.MaxDelay = 30*time.Millisecond, 200*time.Millisecond
	h.d.watcher = w
	if tweak != nil {
		tweak(h.d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
			t.Error("daemon did not stop")
		}
	})
	return h
}

func (h *harness) ask(cmd string) *Response {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	var resp *Response
	var err error
	for ctx.Err() == nil { // the socket appears once the configuration loaded
		if resp, err = Ask(ctx, h.d.Socket, Request{Command: cmd}); err == nil {
			return resp
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatalf("asking %s: %v", cmd, err)
	return nil
}

// patience bounds every wait of these tests: what they wait for takes
// milliseconds, but the machine may be loaded (a 3x slower one must pass),
// and a generous bound costs nothing when the test passes.
const patience = 30 * time.Second

// eventually polls cond until it holds or patience runs out.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNotifySequence(t *testing.T) {
	n := listenNotify(t)
	lxd := newFakeLXD()
	h := startDaemon(t, map[string]string{"a.hcl": "remote a 2\nremote b 1\n"}, lxd)

	ready := n.next(t)
	if ready != "READY=1\nSTATUS=2/2 remotes converged, 3 objects, config "+short(HashDir(h.dir)) {
		t.Fatalf("first message = %q, want READY=1 with the converged status", ready)
	}
	if m := n.next(t, "STATUS="); m != "WATCHDOG=1" {
		t.Fatalf("after READY got %q, want WATCHDOG=1", m)
	}

	h.sigs <- syscall.SIGHUP
	rel := n.next(t, "WATCHDOG=1", "STATUS=")
	lines := strings.Split(rel, "\n")
	if len(lines) != 2 || lines[0] != "RELOADING=1" || !strings.HasPrefix(lines[1], "MONOTONIC_USEC=") {
		t.Fatalf("reload datagram = %q, want RELOADING=1 and MONOTONIC_USEC in one datagram", rel)
	}
	var usec int64
	if _, err := fmt.Sscanf(lines[1], "MONOTONIC_USEC=%d", &usec); err != nil || usec <= 0 {
		t.Fatalf("bad MONOTONIC_USEC in %q", rel)
	}
	if m := n.next(t, "WATCHDOG=1", "STATUS="); !strings.HasPrefix(m, "READY=1\nSTATUS=2/2 remotes converged") {
		t.Fatalf("after RELOADING got %q, want READY=1", m)
	}

	// A rejected reload still ends with READY=1, and STATUS names file and line.
	write(t, filepath.Join(h.dir, "z.hcl"), "remote c\nbogus here\n")
	// the watcher reports the change too; wait until it was rejected
	eventually(t, "edit rejected", func() bool { return h.ask("status").Status.ConfigError != "" })
	h.sigs <- syscall.SIGHUP
	for {
		m := n.next(t, "WATCHDOG=1")
		if strings.HasPrefix(m, "RELOADING=1\nMONOTONIC_USEC=") {
			break
		}
	}
	m := n.next(t, "WATCHDOG=1", "STATUS=")
	if !strings.HasPrefix(m, "READY=1\nSTATUS=2/2 remotes converged") || !strings.Contains(m, "rejected edit: z.hcl:2,1-11: Unsupported block type") {
		t.Fatalf("after a rejected reload got %q, want READY=1 with the rejected file and line", m)
	}

	h.sigs <- syscall.SIGTERM
	if m := n.next(t, "WATCHDOG=1", "STATUS="); m != "STOPPING=1\nSTATUS=stopping" {
		t.Fatalf("on SIGTERM got %q, want STOPPING=1 first", m)
	}
	select {
	case err := <-h.done:
		if err != nil {
			t.Fatalf("Run returned %v after SIGTERM, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("daemon did not exit after SIGTERM")
	}
	h.done <- nil // for Cleanup
	for _, m := range n.all() {
		if strings.HasPrefix(m, "STOPPING=1") {
			break
		}
		if strings.Contains(m, "\n") && !strings.HasPrefix(m, "READY=1\nSTATUS=") && !strings.HasPrefix(m, "RELOADING=1\nMONOTONIC_USEC=") {
			t.Errorf("unexpected multi-field datagram %q", m)
		}
	}
	if _, err := os.Stat(h.d.Socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("control socket left behind after stop: %v", err)
	}
}

func TestInvalidEditKeepsLastGood(t *testing.T) {
	lxd := newFakeLXD()
	h := startDaemon(t, map[string]string{"a.hcl": "remote a 3\n"}, lxd)
	eventually(t, "converged", func() bool { st := h.ask("status").Status; return st.Converged() })

	// Garbage: rejected, desired state unchanged, status names file and line.
	write(t, filepath.Join(h.dir, "a.hcl"), "remote a 1\n}}garbage\n")
	eventually(t, "rejected", func() bool { return h.ask("status").Status.ConfigError != "" })
	st := h.ask("status").Status
	if st.ConfigError != "a.hcl:2,1-10: Unsupported block type" {
		t.Errorf("config error = %q", st.ConfigError)
	}
	if !strings.Contains(st.Line(), "rejected edit: a.hcl:2") {
		t.Errorf("status line %q does not name the file and line", st.Line())
	}
	if st.Converged() {
		t.Error("status says converged while an edit is rejected")
	}

	// reload over the socket reports the diagnostics and fails.
	resp := h.ask("reload")
	if resp.OK || !strings.Contains(resp.Diagnostics, "on a.hcl line 2") {
		t.Errorf("reload response = %+v, want failure with diagnostics", resp)
	}

	// A truncated (zero-byte) file is rejected and named.
	write(t, filepath.Join(h.dir, "a.hcl"), "")
	eventually(t, "empty file rejected", func() bool {
		return strings.HasPrefix(h.ask("status").Status.ConfigError, "a.hcl:1,1-1: Empty configuration file")
	})

	// Emptying the directory is rejected too.
	must(t, os.Remove(filepath.Join(h.dir, "a.hcl")))
	eventually(t, "empty rejected", func() bool {
		return strings.Contains(h.ask("status").Status.ConfigError, "no *.hcl configuration files")
	})
	lxd.mu.Lock()
	owned := lxd.owned["a"]
	lxd.mu.Unlock()
	if owned != 3 {
		t.Fatalf("owned objects = %d after invalid edits, want 3 (nothing deleted)", owned)
	}

	// Fixing converges to the new file.
	write(t, filepath.Join(h.dir, "a.hcl"), "remote a 5\n")
	eventually(t, "fixed and converged", func() bool {
		st := h.ask("status").Status
		return st.ConfigError == "" && st.Converged() && st.Remotes[0].Objects == 5
	})
}

func TestGateRefusesMassDelete(t *testing.T) {
	lxd := newFakeLXD()
	lxd.owned["a"] = 20
	h := startDaemon(t, map[string]string{"a.hcl": "remote a 15\n"}, lxd)
	eventually(t, "converged", func() bool { return h.ask("status").Status.Converged() })
	// 15 -> 2 deletes 13 > max_deletes 10: refused.
	write(t, filepath.Join(h.dir, "a.hcl"), "remote a 2\n")
	eventually(t, "refused", func() bool { return h.ask("status").Status.Remotes[0].State == StateRefused })
	st := h.ask("status").Status
	if !strings.Contains(st.Remotes[0].LastError, "more than max_deletes = 10") || !strings.Contains(st.Line(), "a: refusing") {
		t.Errorf("status = %+v / %q", st.Remotes[0], st.Line())
	}
	lxd.mu.Lock()
	defer lxd.mu.Unlock()
	if lxd.owned["a"] != 15 {
		t.Errorf("owned = %d, want 15 (nothing deleted)", lxd.owned["a"])
	}
}

func TestDeadRemoteDoesNotDelayOthers(t *testing.T) {
	n := listenNotify(t)
	lxd := newFakeLXD()
	lxd.down["b"] = true
	h := startDaemon(t, map[string]string{"a.hcl": "remote a 1\nremote b 1\n"}, lxd)
	if m := n.next(t); !strings.HasPrefix(m, "READY=1\nSTATUS=1/2 remotes converged, 1 objects, b: dial unix /fake/b: connect: connection refused") {
		t.Fatalf("READY = %q", m)
	}
	// a keeps converging on events while b fails and retries with backoff.
	before := lxd.passCount("a")
	lxd.mu.Lock()
	s := lxd.sessions["a"]
	lxd.mu.Unlock()
	s.events <- profileEvent("p0")
	eventually(t, "event pass on a", func() bool { return lxd.passCount("a") > before })
	st := h.ask("status").Status
	if st.Remotes[1].State != StateFailing || st.Remotes[1].NextRetry.IsZero() {
		t.Errorf("b = %+v, want failing with a retry scheduled", st.Remotes[1])
	}
	if st.Remotes[0].Events != 1 {
		t.Errorf("a events = %d, want 1", st.Remotes[0].Events)
	}
	// b comes back: converges without restarting the daemon.
	lxd.setDown("b", false)
	eventually(t, "b converged", func() bool { return h.ask("status").Status.Converged() })
}

func TestEventStreamBreakReconnects(t *testing.T) {
	lxd := newFakeLXD()
	h := startDaemon(t, map[string]string{"a.hcl": "remote a 1\n"}, lxd)
	eventually(t, "converged", func() bool { return h.ask("status").Status.Converged() })
	passes := lxd.passCount("a")
	lxd.setDown("a", true) // breaks the stream; reconnects fail
	eventually(t, "failing", func() bool { return h.ask("status").Status.Remotes[0].State == StateFailing })
	lxd.setDown("a", false)
	eventually(t, "reconnected and resynced", func() bool {
		st := h.ask("status").Status
		return st.Converged() && st.Remotes[0].Connected && st.Remotes[0].Reconnects == 1
	})
	if lxd.passCount("a") <= passes {
		t.Error("no full pass after reconnect")
	}
}

func TestEventsCoalesce(t *testing.T) {
	lxd := newFakeLXD()
	h := startDaemon(t, map[string]string{"a.hcl": "remote a 1\n"}, lxd)
	eventually(t, "converged", func() bool { return h.ask("status").Status.Converged() })
	before := lxd.passCount("a")
	lxd.mu.Lock()
	s := lxd.sessions["a"]
	lxd.mu.Unlock()
	events := func() int64 { return h.ask("status").Status.Remotes[0].Events }
	for range 10 {
		s.events <- profileEvent("p0")
	}
	// Wait for what the events cause rather than sleep: all counted, a pass
	// run after them, and the remote converged again.
	eventually(t, "the events counted and a pass run", func() bool {
		return events() == 10 && lxd.passCount("a") > before && h.ask("status").Status.Converged()
	})
	if got := lxd.passCount("a") - before; got < 1 || got > 2 {
		t.Errorf("10 events caused %d passes, want 1 (at most 2)", got)
	}

	// Events about objects the configuration never mentions wake nobody.
	before = lxd.passCount("a")
	for _, ev := range []engine.Address{
		{Kind: engine.KindNode, Name: "someone-elses"},
		{Kind: engine.KindForward, Network: "br9", Name: "198.51.100.7"},
		{Kind: engine.KindProfile, Name: "p1"},
	} {
		s.events <- engine.Event{Object: ev}
	}
	eventually(t, "the irrelevant events counted", func() bool { return events() == 13 })
	if got := lxd.passCount("a") - before; got != 0 {
		t.Errorf("irrelevant events caused %d passes, want 0", got)
	}
	if ev := events(); ev != 13 {
		t.Errorf("events counted = %d, want 13 (relevant or not)", ev)
	}
}

func TestStartupInvalidConfig(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.hcl"), "nonsense\n")
	d := &Daemon{Dir: dir, Load: fakeLoader, Connect: newFakeLXD().connect, Log: discard(),
		Notify: &Notifier{Send: func(string) error { t.Error("sd_notify during failed start-up"); return nil }},
		Socket: filepath.Join(t.TempDir(), "c.sock"), Signals: make(chan os.Signal)}
	err := d.Run(context.Background())
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Summary != "a.hcl:1,1-9: Unsupported block type" {
		t.Fatalf("Run = %v, want the config error", err)
	}
	// An empty directory is refused at start-up too.
	must(t, os.Remove(filepath.Join(dir, "a.hcl")))
	if err := d.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "no *.hcl configuration files") {
		t.Fatalf("Run on empty dir = %v", err)
	}
}

func TestControlSocketMode(t *testing.T) {
	h := startDaemon(t, map[string]string{"a.hcl": "remote a 1\n"}, newFakeLXD())
	h.ask("status")
	fi, err := os.Stat(h.d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("control socket mode %v, want socket 0600", fi.Mode())
	}
	di, _ := os.Stat(filepath.Dir(h.d.Socket))
	if di.Mode().Perm() != 0o700 {
		t.Errorf("control directory mode %v, want 0700", di.Mode())
	}
	// Unknown commands and garbage get an error answer, not a hang.
	if r := h.ask("frobnicate"); r.OK || !strings.Contains(r.Error, "unknown command") {
		t.Errorf("unknown command answer %+v", r)
	}
	c, err := net.Dial("unix", h.d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintln(c, "{not json")
	line, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.Contains(line, "malformed request") {
		t.Errorf("garbage answer %q", line)
	}
	// A second daemon on the same socket refuses to start.
	if _, err := listenControl(h.d.Socket); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second listen = %v, want in use", err)
	}
}

func TestRemoteRemovedAndAdded(t *testing.T) {
	lxd := newFakeLXD()
	h := startDaemon(t, map[string]string{"a.hcl": "remote a 1\n"}, lxd)
	eventually(t, "converged", func() bool { return h.ask("status").Status.Converged() })
	write(t, filepath.Join(h.dir, "a.hcl"), "remote b 2\n")
	eventually(t, "b replaces a", func() bool {
		st := h.ask("status").Status
		return st.Converged() && len(st.Remotes) == 1 && st.Remotes[0].Name == "b"
	})
	lxd.mu.Lock()
	defer lxd.mu.Unlock()
	if lxd.owned["a"] != 1 {
		t.Errorf("objects of the removed remote were touched: owned[a] = %d", lxd.owned["a"])
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: time.Second}
	caps := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, c := range caps {
		c *= time.Millisecond
		d := b.next()
		if d < c/2 || d > c {
			t.Errorf("attempt %d: wait %v outside [%v, %v]", i, d, c/2, c)
		}
	}
	b.reset()
	if d := b.next(); d > 100*time.Millisecond {
		t.Errorf("after reset wait %v", d)
	}
}

// blockingLXD answers connects only after release is closed, and its
// sessions' passes block while stall is set.
type blockingLXD struct {
	*fakeLXD
	release chan struct{}
	stall   atomic.Bool
	unstall chan struct{}
	stalled atomic.Int32 // passes that entered the stall
}

func (b *blockingLXD) connect(ctx context.Context, r *spec.Remote) (Session, error) {
	select {
	case <-b.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s, err := b.fakeLXD.connect(ctx, r)
	if err != nil {
		return nil, err
	}
	return &stallSession{Session: s, b: b}, nil
}

type stallSession struct {
	Session
	b *blockingLXD
}

func (s *stallSession) Converge(ctx context.Context, d *spec.Remote, st spec.Settings) (Outcome, error) {
	if s.b.stall.Load() {
		s.b.stalled.Add(1)
		select {
		case <-s.b.unstall:
		case <-ctx.Done():
			return Outcome{}, ctx.Err()
		}
	}
	return s.Session.Converge(ctx, d, st)
}

func TestExtendTimeoutWhileLXDIsSlow(t *testing.T) {
	n := listenNotify(t)
	b := &blockingLXD{fakeLXD: newFakeLXD(), release: make(chan struct{}), unstall: make(chan struct{})}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.hcl"), "remote a 1\n")
	d := &Daemon{Dir: dir, Load: fakeLoader, Connect: b.connect, Log: discard(), Notify: &Notifier{},
		Socket: filepath.Join(t.TempDir(), "c.sock"), Signals: make(chan os.Signal), extendEvery: 50 * time.Millisecond,
		timings: workerTimings{Settle: time.Millisecond, ConnectTimeout: 10 * time.Second, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, ReconnectAfter: 2}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for range 2 {
		if m := n.next(t); m != "EXTEND_TIMEOUT_USEC=300000" {
			t.Fatalf("while LXD is slow got %q, want EXTEND_TIMEOUT_USEC=300000", m)
		}
	}
	close(b.release)
	if m := n.next(t, "EXTEND_TIMEOUT_USEC="); !strings.HasPrefix(m, "READY=1\nSTATUS=1/1 remotes converged") {
		t.Fatalf("after LXD answered got %q, want READY=1", m)
	}
}

func TestWatchdogWithheldWhilePassStuck(t *testing.T) {
	b := &blockingLXD{fakeLXD: newFakeLXD(), release: make(chan struct{}), unstall: make(chan struct{})}
	close(b.release)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.hcl"), "remote a 1\n")
	var mu sync.Mutex
	var pings []time.Time
	d := &Daemon{Dir: dir, Load: fakeLoader, Connect: b.connect, Log: discard(),
		Notify: &Notifier{Send: func(s string) error {
			if s == "WATCHDOG=1" {
				mu.Lock()
				pings = append(pings, time.Now())
				mu.Unlock()
			}
			return nil
		}},
		Socket: filepath.Join(t.TempDir(), "c.sock"), Signals: make(chan os.Signal), WatchdogEvery: 20 * time.Millisecond, StuckAfter: 200 * time.Millisecond,
		timings: workerTimings{Settle: time.Millisecond, ConnectTimeout: time.Second, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, ReconnectAfter: 2}}
	w := NewDirWatcher(dir, discard())
	w.Debounce, w.MaxDelay = 20*time.Millisecond, 100*time.Millisecond
	d.watcher = w
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(pings) }
	eventually(t, "pings while healthy", func() bool { return count() >= 3 })

	// A pass that hangs (triggered by an edit): pings continue until
	// StuckAfter, then stop.
	b.stall.Store(true)
	write(t, filepath.Join(dir, "a.hcl"), "remote a 2\n")
	// Measured from the moment the pass is stuck (the edit's debounce and
	// the start of the pass may be slow on a loaded machine), with a margin
	// for a ping decided just before StuckAfter.
	eventually(t, "the pass stuck", func() bool { return b.stalled.Load() > 0 })
	time.Sleep(d.StuckAfter + 300*time.Millisecond)
	c1 := count()
	time.Sleep(300 * time.Millisecond)
	if c2 := count(); c2 != c1 {
		t.Fatalf("watchdog pinged %d times while a pass was stuck past StuckAfter", c2-c1)
	}
	// The pass finishes: pings resume.
	b.stall.Store(false)
	close(b.unstall)
	eventually(t, "pings resume", func() bool { return count() > c1+2 })
}

func TestStatusDuringStartup(t *testing.T) {
	b := &blockingLXD{fakeLXD: newFakeLXD(), release: make(chan struct{}), unstall: make(chan struct{})}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.hcl"), "remote a 1\n")
	d := &Daemon{Dir: dir, Load: fakeLoader, Connect: b.connect, Log: discard(), Notify: &Notifier{Send: func(string) error { return nil }},
		Socket: filepath.Join(t.TempDir(), "c.sock"), Signals: make(chan os.Signal), timings: defaultTimings}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	h := &harness{t: t, d: d}
	st := h.ask("status").Status
	if len(st.Remotes) != 1 || st.Remotes[0].State != StateConnecting {
		t.Errorf("status during start-up = %+v, want one connecting remote", st)
	}
	if r := h.ask("reload"); r.OK || !strings.Contains(r.Error, "starting") {
		t.Errorf("reload during start-up = %+v, want a refusal", r)
	}
	close(b.release)
}

func TestBackoffHoldsAgainstEventFlood(t *testing.T) {
	lxd := newFakeLXD()
	lxd.failing["a"] = true
	// Keep the connection (and its event stream) up through the failures.
	h := startDaemonWith(t, map[string]string{"a.hcl": "remote a 1\n"}, lxd, func(d *Daemon) { d.timings.ReconnectAfter = 1000 })
	eventually(t, "failing", func() bool { return h.ask("status").Status.Remotes[0].State == StateFailing })
	before, start := lxd.passCount("a"), time.Now()
	for range 60 {
		// The failing remote reconnects now and then: send to the
		// current session, never block on a dead one.
		lxd.mu.Lock()
		s := lxd.sessions["a"]
		lxd.mu.Unlock()
		select {
		case s.events <- profileEvent("p0"):
		default:
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The bound follows the time the flood took (300ms on an idle machine,
	// longer on a loaded one): even at the minimum backoff of 20ms a pass
	// needs 20ms, and the backoff grows to 100ms; without backoff each of
	// the 60 events would cause a pass.
	took := time.Since(start)
	got := lxd.passCount("a") - before
	t.Logf("%d passes during the flood of %v", got, took)
	if limit := max(10, int(took/(30*time.Millisecond))); got > limit {
		t.Errorf("a failing remote ran %d passes during 60 events in %v; backoff (20ms..100ms) allows at most %d", got, took, limit)
	}
	// A configuration change is not held back by the backoff.
	lxd.mu.Lock()
	lxd.failing["a"] = false
	lxd.mu.Unlock()
	write(t, filepath.Join(h.dir, "a.hcl"), "remote a 2\n")
	eventually(t, "converged after the edit", func() bool { return h.ask("status").Status.Converged() })
}

func TestExplicitReloadRereadsEveryRemote(t *testing.T) {
	lxd := newFakeLXD()
	h := startDaemon(t, map[string]string{"a.hcl": "remote a 1\n"}, lxd)
	eventually(t, "converged", func() bool { return h.ask("status").Status.Converged() })
	connects, passes := lxd.connects.Load(), lxd.passCount("a")
	r := h.ask("reload")
	if !r.OK || r.Changed {
		t.Fatalf("reload of an unchanged directory = %+v, want ok and unchanged", r)
	}
	eventually(t, "reconnected and re-read", func() bool {
		return lxd.connects.Load() > connects && lxd.passCount("a") > passes
	})
}

func TestSIGHUPDuringStartupReloadsAfterReady(t *testing.T) {
	b := &blockingLXD{fakeLXD: newFakeLXD(), release: make(chan struct{}), unstall: make(chan struct{})}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.hcl"), "remote a 1\n")
	var mu sync.Mutex
	var msgs []string
	sigs := make(chan os.Signal, 1)
	d := &Daemon{Dir: dir, Load: fakeLoader, Connect: b.connect, Log: discard(),
		Notify: &Notifier{Send: func(s string) error {
			mu.Lock()
			msgs = append(msgs, strings.SplitN(s, "\n", 2)[0])
			mu.Unlock()
			return nil
		}},
		Socket: filepath.Join(t.TempDir(), "c.sock"), Signals: sigs, timings: defaultTimings}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	h := &harness{t: t, d: d}
	h.ask("status") // started and waiting for the first pass
	sigs <- syscall.SIGHUP
	time.Sleep(50 * time.Millisecond)
	close(b.release)
	eventually(t, "READY, RELOADING, READY", func() bool {
		mu.Lock()
		defer mu.Unlock()
		var life []string
		for _, m := range msgs {
			if m != "WATCHDOG=1" && !strings.HasPrefix(m, "STATUS=") {
				life = append(life, m)
			}
		}
		return strings.Join(life, " ") == "READY=1 RELOADING=1 READY=1"
	})
}

func TestResyncInterval(t *testing.T) {
	lxd := newFakeLXD()
	h := startDaemonWith(t, map[string]string{"a.hcl": "remote a 1\n"}, lxd, func(d *Daemon) {
		d.Load = func(dir string) (*spec.Config, error) {
			cfg, err := fakeLoader(dir)
			if cfg != nil {
				cfg.Settings.ResyncInterval = 100 * time.Millisecond
			}
			return cfg, err
		}
	})
	eventually(t, "converged", func() bool { return h.ask("status").Status.Converged() })
	// Resyncs happen (3 of them, however slow the machine), and never
	// faster than the interval: 3 passes after before need 2 full intervals.
	before, start := lxd.passCount("a"), time.Now()
	eventually(t, "3 resync passes", func() bool { return lxd.passCount("a")-before >= 3 })
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Errorf("3 resync passes took %v with resync_interval 100ms, want at least 200ms", took)
	}
	st := h.ask("status").Status.Remotes[0]
	if st.NextResync.Before(st.LastConverged) || st.NextResync.Sub(st.LastConverged) > 150*time.Millisecond {
		t.Errorf("next resync %v not about 100ms after the last pass %v", st.NextResync, st.LastConverged)
	}
}
