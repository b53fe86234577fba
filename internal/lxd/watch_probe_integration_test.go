//go:build integration

package lxd

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// watchProbe is a profile of the test's own whose rewrites prove that a
// watch delivers events. The event websocket connects some time after
// WatchLifecycle starts, and the client dispatches events on goroutines:
// rather than sleep and hope, a test rewrites the probe until its event
// arrives.
type watchProbe struct {
	r    *Remote
	rec  *eventRecorder
	name string
	n    int
}

// startWatch runs r.WatchLifecycle into a new recorder and returns once the
// watch delivers events. cancel ends the watch; done receives its result.
// d (any member of r) deletes the probe profile in t.Cleanup.
func startWatch(t *testing.T, d *sandbox.Daemon, r *Remote) (p *watchProbe, cancel context.CancelFunc, done chan error) {
	t.Helper()
	p = &watchProbe{r: r, rec: newRecorder(), name: sandbox.UniqueName(t, "lxprobe")}
	if err := r.CreateProfile(testCtx(t), engine.Profile{Name: p.name}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = d.LxcErr("profile", "delete", p.name, "--project", r.Project()) })
	ctx, cancel := context.WithCancel(t.Context())
	done = make(chan error, 1)
	go func() { done <- r.WatchLifecycle(ctx, p.rec.add) }()
	p.sync(t)
	return p, cancel, done
}

// sync rewrites the probe until the watch reports it (within a minute, for
// a slow machine): every event LXD emitted before the call has then been
// read from the stream too.
func (p *watchProbe) sync(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		p.n++
		desc := "probe " + strconv.Itoa(p.n)
		start := time.Now()
		if err := p.r.UpdateProfile(testCtx(t), engine.Profile{Name: p.name, Description: desc}); err != nil {
			t.Fatal(err)
		}
		if p.rec.seenSince(p.source(), start, 500*time.Millisecond) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the watch reported no event of its probe %s within a minute", p.name)
		}
	}
}

// source is the probe's event source, with the project of a non-default one.
func (p *watchProbe) source() string {
	s := "/1.0/profiles/" + p.name
	if p.r.Project() != "" && p.r.Project() != "default" {
		s += "?project=" + p.r.Project()
	}
	return s
}

// seenSince reports whether an event with source arrived at or after since,
// waiting up to within for it.
func (e *eventRecorder) seenSince(source string, since time.Time, within time.Duration) bool {
	timeout := time.After(within)
	for {
		e.mu.Lock()
		for i, s := range e.sources {
			if s == source && !e.times[i].Before(since) {
				e.mu.Unlock()
				return true
			}
		}
		e.mu.Unlock()
		select {
		case <-e.seen:
		case <-timeout:
			return false
		}
	}
}
