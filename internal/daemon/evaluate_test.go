package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/config"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// gatedLoader is fakeLoader, except that a configuration with a remote
// named "slow" blocks until released: an evaluation that takes as long as
// the test wants, without depending on how fast this machine evaluates.
type gatedLoader struct {
	release  chan struct{}
	entered  atomic.Int32
	finished atomic.Int32
}

func newGatedLoader() *gatedLoader { return &gatedLoader{release: make(chan struct{})} }

func (g *gatedLoader) load(dir string) (*spec.Config, error) {
	cfg, err := fakeLoader(dir)
	if err == nil && cfg.Remotes["slow"] != nil {
		g.entered.Add(1)
		<-g.release
		g.finished.Add(1)
	}
	return cfg, err
}

// pingCounter counts WATCHDOG=1 and READY=1 datagrams.
type pingCounter struct {
	pings, readies atomic.Int32
}

func (p *pingCounter) send(s string) error {
	switch {
	case s == "WATCHDOG=1":
		p.pings.Add(1)
	case strings.HasPrefix(s, "READY=1"):
		p.readies.Add(1)
	}
	return nil
}

// askWithin asks the control socket and fails when the answer takes longer
// than bound (the main loop does nothing slow, so an answer is immediate;
// the bound only allows for a loaded machine).
func (h *harness) askWithin(cmd string, bound time.Duration) *Response {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	resp, err := Ask(ctx, h.d.Socket, Request{Command: cmd})
	if err != nil {
		h.t.Fatalf("%s did not answer within %s during a slow evaluation: %v", cmd, bound, err)
	}
	return resp
}

// TestSlowEvaluationKeepsLoopAnswering: while an edit evaluates (here: for
// as long as the test holds it), status answers at once and says so, the
// watchdog is fed, a SIGHUP is taken; a newer edit supersedes the slow one,
// whose result is then discarded.
func TestSlowEvaluationKeepsLoopAnswering(t *testing.T) {
	g := newGatedLoader()
	pc := &pingCounter{}
	lxd := newFakeLXD()
	h := startDaemonWith(t, map[string]string{"a.hcl": "remote a 1\n"}, lxd, func(d *Daemon) {
		d.Load = g.load
		d.Notify = &Notifier{Send: pc.send}
	})
	eventually(t, "converged", func() bool { return h.ask("status").Status.Converged() })
	good := h.ask("status").Status.ConfigHash

	write(t, filepath.Join(h.dir, "a.hcl"), "remote a 1\nremote slow 5\n")
	eventually(t, "the slow evaluation started", func() bool { return g.entered.Load() == 1 })

	st := h.askWithin("status", 2*time.Second).Status
	if st.Evaluating.IsZero() || st.ConfigHash != good || st.ConfigError != "" {
		t.Fatalf("status during the evaluation: evaluating %v, hash %.12s (want %.12s), error %q", st.Evaluating, st.ConfigHash, good, st.ConfigError)
	}
	pings := pc.pings.Load()
	eventually(t, "watchdog pings during the evaluation", func() bool { return pc.pings.Load() >= pings+3 })

	// A SIGHUP is taken (RELOADING=1 is sent by the loop) and queued
	// behind the running load; so is a newer edit, which supersedes it.
	readies := pc.readies.Load()
	h.sigs <- syscall.SIGHUP
	write(t, filepath.Join(h.dir, "a.hcl"), "remote a 2\n")
	h.askWithin("status", 2*time.Second)
	if g.finished.Load() != 0 {
		t.Fatal("the slow evaluation ended before it was released")
	}
	close(g.release)
	eventually(t, "the newer edit applied", func() bool {
		st := h.ask("status").Status
		return st.ConfigHash == HashDir(h.dir) && st.Converged() && st.Evaluating.IsZero()
	})
	eventually(t, "READY=1 after the reload", func() bool { return pc.readies.Load() > readies })
	st = h.ask("status").Status
	for _, r := range st.Remotes {
		if r.Name == "slow" {
			t.Fatalf("the superseded evaluation's configuration was applied: %+v", st.Remotes)
		}
	}
	if lxd.passCount("slow") != 0 {
		t.Fatal("a pass ran for a remote only the superseded evaluation declared")
	}
	if g.entered.Load() != 1 {
		t.Fatalf("%d slow evaluations ran, want 1", g.entered.Load())
	}
}

// TestEvaluationOverBudget: an evaluation that runs past the budget is a
// rejected edit naming the budget; the last good configuration stays, a
// reload waiting for it is answered with the error, and the late result is
// discarded; a reload meanwhile is answered at once. The next edit is
// evaluated once the late one has returned.
func TestEvaluationOverBudget(t *testing.T) {
	g := newGatedLoader()
	lxd := newFakeLXD()
	h := startDaemonWith(t, map[string]string{"a.hcl": "remote a 1\n"}, lxd, func(d *Daemon) {
		d.Load = g.load
		d.EvalBudget = 300 * time.Millisecond
	})
	eventually(t, "converged", func() bool { return h.ask("status").Status.Converged() })
	good := h.ask("status").Status.ConfigHash

	write(t, filepath.Join(h.dir, "a.hcl"), "remote a 1\nremote slow 5\n")
	eventually(t, "the slow evaluation started", func() bool { return g.entered.Load() == 1 })
	eventually(t, "rejected over budget", func() bool { return h.ask("status").Status.ConfigError != "" })
	st := h.ask("status").Status
	want := "evaluation took longer than 300ms; the last good configuration stays in force"
	if st.ConfigError != want || st.ConfigHash != good {
		t.Fatalf("status: error %q, hash %.12s; want %q and the last good hash %.12s", st.ConfigError, st.ConfigHash, want, good)
	}

	// A reload behind the abandoned load is answered at once, with an
	// error saying so; an edit meanwhile is read when it returns.
	reload := h.askWithin("reload", 2*time.Second)
	if reload.OK || !strings.Contains(reload.Error, "still running") {
		t.Fatalf("reload behind the abandoned evaluation: %+v", reload)
	}
	write(t, filepath.Join(h.dir, "a.hcl"), "remote a 3\n")
	h.askWithin("status", 2*time.Second)
	if g.finished.Load() != 0 {
		t.Fatal("the slow evaluation ended before it was released")
	}
	close(g.release)
	eventually(t, "the edit after the slow one converged", func() bool {
		st := h.ask("status").Status
		return st.Converged() && st.ConfigError == ""
	})
	if lxd.passCount("slow") != 0 {
		t.Fatal("the late result of the abandoned evaluation was applied")
	}
}

// TestLineNamesSlowPass: a pass running longer than SlowPass is named in
// the status line with how long it has run; a short one is not.
func TestLineNamesSlowPass(t *testing.T) {
	st := Status{ConfigHash: "h", Remotes: []RemoteStatus{
		{Name: "a", State: StateConverged, ConfigHash: "h", PassStarted: time.Now().Add(-2*SlowPass - 400*time.Millisecond)},
		{Name: "b", State: StateConverged, ConfigHash: "h", PassStarted: time.Now().Add(-time.Second)},
	}}
	line := st.Line()
	if want := "a: pass running for " + (2 * SlowPass).String(); !strings.Contains(line, want) || strings.Contains(line, "b: pass") {
		t.Fatalf("status line %q, want %q and nothing about b", line, want)
	}
}

// TestBigConfigEvaluatesOffLoop: the real configuration loader evaluating a
// for_each over 20 000 keys (about a second of CPU, many on a loaded
// machine) while status is asked every few milliseconds: every answer
// comes within a bound (5 s: the evaluation competes for the CPU, and a
// loaded machine may delay any goroutine a second; on the main loop the
// answer would wait for the whole evaluation), and reports it.
func TestBigConfigEvaluatesOffLoop(t *testing.T) {
	load := func(dir string) (*spec.Config, error) {
		cfg, diags := config.Load(dir, config.Options{})
		if diags.HasErrors() {
			return nil, &ConfigError{Summary: diags.Err().Error()}
		}
		return cfg, nil
	}
	lxd := newFakeLXD()
	h := startDaemonWith(t, map[string]string{"main.hcl": "profile \"p\" {\n  name = \"p\"\n}\n"}, lxd, func(d *Daemon) { d.Load = load })
	eventually(t, "converged", func() bool { return h.ask("status").Status.Converged() })
	first := h.ask("status").Status.ConfigHash

	var keys strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&keys, "%q,", fmt.Sprint("p", i))
	}
	write(t, filepath.Join(h.dir, "main.hcl"), "profile \"p\" {\n  for_each = toset(["+keys.String()+"])\n  name     = each.key\n}\n")
	seen, slowest := 0, time.Duration(0)
	deadline := time.Now().Add(patience)
	for {
		start := time.Now()
		st := h.askWithin("status", 5*time.Second).Status
		slowest = max(slowest, time.Since(start))
		if !st.Evaluating.IsZero() {
			seen++
		}
		if st.ConfigError != "" {
			t.Fatalf("the big configuration was rejected: %s", st.ConfigError)
		}
		if st.ConfigHash != first && st.Evaluating.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the big configuration was not applied within %s: %+v", patience, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("%d status answers during the evaluation, slowest %s", seen, slowest)
	if seen == 0 {
		t.Fatal("no status answer saw the evaluation running: the test proves nothing")
	}
}
