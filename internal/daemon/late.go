package daemon

import (
	"sync"
	"time"

	"github.com/lxnetd/lxnetd/engine"
)

// Profile events that come before their change.
//
// LXD announces a profile PATCH before it commits it: its handler sends
// profile-updated and only then runs the update (canonical/lxd
// lxd/profiles.go, profilePatch, from 5.0 to at least 5.21; PUT, and the
// handlers of every other kind lxnetd watches, send the event after the
// change). A pass that reads the profile at once reads it as it was, finds
// nothing to do, and no second event follows: the hand change stays until
// the next full read (resync_interval). On the sandbox LXD 5.0.2 a read
// made on receiving the event saw the old profile in 13 to 24 of 40
// PATCHes; the commit followed 8–40 ms after the event. The worker's
// settle time (100 ms) hides that on a quiet host, not on a loaded one: a
// host-scale soak (load 9–13 on 2 cores) lost one profile PATCH in 94
// rounds this way.
//
// So every profile event is delivered once more LateRead after it: its
// profile is read again and the pass plans from what LXD holds by then.
// LXD offers nothing that says when the PATCH is done (the event carries
// no method and no revision), so the delay is a bound, 25 to 100 times
// the commit times measured; a commit later still is found by the next
// full read. The cost is one targeted read and a pass that plans from the
// cache, per profile and second, also for the echoes of lxnetd's own
// profile writes (LXD's events cannot tell them apart); a burst of more
// than cache.MaxRefresh profiles makes that pass a full read. A late
// delivery counts in the status's events like the event itself.
const LateRead = time.Second

// lateReads delivers events a second time, LateRead after the last one
// about the same object: a burst of events about one profile costs one
// late read. It is used by one Watch and stopped when that Watch returns,
// so no event is delivered after it (the Watch contract).
type lateReads struct {
	after time.Duration

	mu      sync.Mutex // held while a late event is delivered: stop waits for it
	timers  map[engine.Address]*time.Timer
	stopped bool
}

func newLateReads(after time.Duration) *lateReads {
	return &lateReads{after: after, timers: map[engine.Address]*time.Timer{}}
}

// schedule delivers ev to deliver after l.after, unless another event
// about its object reschedules it first.
func (l *lateReads) schedule(ev engine.Event, deliver func(engine.Event)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	if t, ok := l.timers[ev.Object]; ok && t.Stop() {
		t.Reset(l.after)
		return
	}
	// None pending, or one firing now: it finds itself replaced and
	// returns, as this one reads the object later.
	var t *time.Timer
	t = time.AfterFunc(l.after, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.stopped || l.timers[ev.Object] != t {
			return
		}
		delete(l.timers, ev.Object)
		deliver(ev)
	})
	l.timers[ev.Object] = t
}

// stop cancels the late deliveries not made yet and waits for one in
// progress.
func (l *lateReads) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
	for _, t := range l.timers {
		t.Stop()
	}
	clear(l.timers)
}

// comesEarly reports whether LXD may send ev before the change it reports
// is visible to reads (see LateRead).
func comesEarly(ev engine.Event) bool { return ev.Object.Kind == engine.KindProfile }
