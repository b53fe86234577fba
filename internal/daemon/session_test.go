package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/enginetest"
	"github.com/lxnetd/lxnetd/engine/lease"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// fakeRemote is a daemon Remote in memory: the engine's fake LXD, a server
// configuration for leases, an event stream that never sends.
type fakeRemote struct {
	*enginetest.Fake
	*lease.MemStore
	vanishing int // ListProfiles answers ErrNotFound this many more times
	events    chan engine.Event
}

func (r *fakeRemote) ListProfiles(ctx context.Context) ([]engine.Profile, error) {
	if r.vanishing > 0 {
		r.vanishing--
		return nil, fmt.Errorf("listing profiles: %w", engine.ErrNotFound)
	}
	return r.Fake.ListProfiles(ctx)
}

func (r *fakeRemote) Watch(ctx context.Context, onEvent func(engine.Event)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-r.events:
			onEvent(ev)
		}
	}
}

// send delivers one event through s's Watch and returns once the worker's
// handler got it.
func send(t *testing.T, r *fakeRemote, s Session, ev engine.Event) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	got := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Watch(ctx, func(engine.Event) { close(got) })
	}()
	r.events <- ev
	<-got
	cancel()
	<-done
}

func (r *fakeRemote) Close() {}

// session connects EngineConnector to r.
func session(t *testing.T, r *fakeRemote) Session {
	t.Helper()
	dial := func(context.Context, *spec.Remote) (Remote, error) { return r, nil }
	s, err := EngineConnector(dial, slog.New(slog.NewTextHandler(io.Discard, nil)), 2)(t.Context(), &spec.Remote{Name: "local"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// profiles declares n profiles p0..p(n-1) and a bridge.
func profiles(n int) *spec.Remote {
	r := &spec.Remote{Name: "local", Networks: []spec.Network{{Meta: spec.Meta{Addr: "network.br0"}, Name: "br0", Type: "bridge",
		Config: map[string]string{"ipv4.address": "10.231.1.1/24"}}}}
	for i := range n {
		r.Profiles = append(r.Profiles, spec.Profile{Meta: spec.Meta{Addr: fmt.Sprintf("profile.p%d", i)}, Name: fmt.Sprintf("p%d", i)})
	}
	return r
}

func TestConvergeCountsOutcome(t *testing.T) {
	r := &fakeRemote{events: make(chan engine.Event), Fake: enginetest.New("local"), MemStore: &lease.MemStore{}}
	s := session(t, r)
	st := spec.Settings{Owner: "t", MaxDeletes: 10}
	out, err := s.Converge(t.Context(), profiles(3), st)
	if err != nil || out.Applied != 4 || out.Failed != 0 || out.Objects != 4 || out.Refused != "" || out.PlanID == "" {
		t.Fatalf("first pass: %+v, %v", out, err)
	}
	out, err = s.Converge(t.Context(), profiles(3), st)
	if err != nil || out.Applied != 0 || out.Objects != 4 {
		t.Fatalf("second pass: %+v, %v (want a no-op)", out, err)
	}
	r.Fail = func(op, name string) error {
		if op == "create-profile" && name == "p4" {
			return errors.New("boom")
		}
		return nil
	}
	out, err = s.Converge(t.Context(), profiles(6), st)
	if err == nil || out.Applied != 2 || out.Failed != 1 {
		t.Fatalf("pass with a failing write: %+v, %v (want 2 applied, 1 failed, an error)", out, err)
	}
}

func TestConvergeGateRefuses(t *testing.T) {
	r := &fakeRemote{events: make(chan engine.Event), Fake: enginetest.New("local"), MemStore: &lease.MemStore{}}
	s := session(t, r)
	st := spec.Settings{Owner: "t", MaxDeletes: 10}
	if _, err := s.Converge(t.Context(), profiles(12), st); err != nil {
		t.Fatal(err)
	}
	out, err := s.Converge(t.Context(), profiles(0), st)
	if err != nil || !strings.Contains(out.Refused, "more than max_deletes = 10") || out.Applied != 0 {
		t.Fatalf("12 deletes: %+v, %v (want refused by max_deletes)", out, err)
	}
	for i := range 12 {
		if _, ok := r.Profiles[fmt.Sprint("p", i)]; !ok {
			t.Fatalf("a refused pass deleted profile p%d", i)
		}
	}
	out, err = s.Converge(t.Context(), &spec.Remote{Name: "local"}, st)
	if err != nil || !strings.Contains(out.Refused, "declares nothing") {
		t.Fatalf("emptied configuration: %+v, %v (want refused by allow_empty)", out, err)
	}
}

func TestConvergeObservesAgainWhenSomethingVanished(t *testing.T) {
	r := &fakeRemote{events: make(chan engine.Event), Fake: enginetest.New("local"), MemStore: &lease.MemStore{}, vanishing: observeRetries - 1}
	s := session(t, r)
	st := spec.Settings{Owner: "t", MaxDeletes: 10}
	if out, err := s.Converge(t.Context(), profiles(1), st); err != nil || out.Applied != 2 {
		t.Fatalf("after %d vanished reads: %+v, %v (want the pass to observe again and apply)", observeRetries-1, out, err)
	}
	r.vanishing = observeRetries
	s = session(t, r) // a new connection observes everything
	if _, err := s.Converge(t.Context(), profiles(1), st); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("after %d vanished reads: %v, want the 404 reported", observeRetries, err)
	}
}

// A pass after an event re-reads the object it names and nothing else.
func TestConvergeReadsWhatTheEventNames(t *testing.T) {
	r := &fakeRemote{events: make(chan engine.Event), Fake: enginetest.New("local"), MemStore: &lease.MemStore{}}
	s := session(t, r)
	st := spec.Settings{Owner: "t", MaxDeletes: 10}
	if out, err := s.Converge(t.Context(), profiles(3), st); err != nil || out.Observations != 1 {
		t.Fatalf("first pass: %+v, %v (want one full read)", out, err)
	}
	if out, err := s.Converge(t.Context(), profiles(3), st); err != nil || out.Observations != 0 || out.ObjectReads != 0 || out.Applied != 0 {
		t.Fatalf("pass without events: %+v, %v (want no reads, no writes)", out, err)
	}
	delete(r.Profiles, "p1")
	send(t, r, s, engine.Event{Object: engine.Address{Kind: engine.KindProfile, Name: "p1"}})
	out, err := s.Converge(t.Context(), profiles(3), st)
	if err != nil || out.Observations != 0 || out.ObjectReads != 2 || out.Applied != 1 {
		t.Fatalf("pass after a hand delete: %+v, %v (want the profile read, re-created and read back, no full read)", out, err)
	}
	if _, ok := r.Profiles["p1"]; !ok {
		t.Fatal("p1 not re-created")
	}
}

// Writes that find the cache stale (an object deleted without an event
// reaching the cache) read the object again and plan again in the same
// pass, and never write over what they did not read.
func TestConvergePlansAgainWhenTheCacheWasStale(t *testing.T) {
	r := &fakeRemote{events: make(chan engine.Event), Fake: enginetest.New("local"), MemStore: &lease.MemStore{}}
	s := session(t, r)
	st := spec.Settings{Owner: "t", MaxDeletes: 10}
	if _, err := s.Converge(t.Context(), profiles(2), st); err != nil {
		t.Fatal(err)
	}
	delete(r.Profiles, "p1") // the event is lost
	d := profiles(2)
	d.Profiles[1].Config = map[string]string{"user.x": "1"}
	out, err := s.Converge(t.Context(), d, st)
	if err != nil || out.Applied != 1 || out.Observations != 0 {
		t.Fatalf("pass on a stale cache: %+v, %v (want the update's 404, a re-read and the create, without a full read)", out, err)
	}
	if got := r.Profiles["p1"].Config["user.x"]; got != "1" {
		t.Fatalf("p1 after the pass: %+v", r.Profiles["p1"])
	}
}

// A plan that deletes is made from a full read (used_by may be stale in
// the cache).
func TestConvergeDeletesFromAFullRead(t *testing.T) {
	r := &fakeRemote{events: make(chan engine.Event), Fake: enginetest.New("local"), MemStore: &lease.MemStore{}}
	s := session(t, r)
	st := spec.Settings{Owner: "t", MaxDeletes: 10}
	if _, err := s.Converge(t.Context(), profiles(3), st); err != nil {
		t.Fatal(err)
	}
	out, err := s.Converge(t.Context(), profiles(2), st)
	if err != nil || out.Applied != 1 || out.Observations != 1 {
		t.Fatalf("pruning pass: %+v, %v (want one delete after one full read)", out, err)
	}
	if out, err := s.Converge(t.Context(), profiles(2), st); err != nil || out.Observations != 0 || out.Applied != 0 {
		t.Fatalf("pass after the prune: %+v, %v (want nothing)", out, err)
	}
}

// A delete blocked for good (a profile an unmanaged instance uses) costs
// one full read, not one per pass; the blocking instance's event lifts it
// at once (not at the next resync), at the cost of two targeted reads and
// the full read every delete is planned from.
func TestConvergeBlockedDeleteReadsOnce(t *testing.T) {
	r := &fakeRemote{events: make(chan engine.Event), Fake: enginetest.New("local"), MemStore: &lease.MemStore{}}
	s := session(t, r)
	st := spec.Settings{Owner: "t", MaxDeletes: 10}
	if _, err := s.Converge(t.Context(), profiles(2), st); err != nil {
		t.Fatal(err)
	}
	if err := r.CreateInstance(t.Context(), engine.Instance{Name: "hand", Image: "busybox", Profiles: []string{"default", "p1"}}); err != nil {
		t.Fatal(err)
	}
	hand := engine.Address{Kind: engine.KindNode, Name: "hand"}
	p1 := engine.Address{Kind: engine.KindProfile, Name: "p1"}
	out, err := s.Converge(t.Context(), profiles(1), st)
	if err != nil || out.Applied != 0 || out.Observations != 1 {
		t.Fatalf("pass with a blocked delete: %+v, %v (want one full read, nothing applied)", out, err)
	}
	if want := []engine.Address{hand, p1}; !slices.Equal(out.Blocked, want) {
		t.Fatalf("blocked = %v, want %v (the worker wants their events)", out.Blocked, want)
	}
	for range 3 {
		if out, err := s.Converge(t.Context(), profiles(1), st); err != nil || out.Observations != 0 || out.Applied != 0 {
			t.Fatalf("next pass with the same blocked delete: %+v, %v (want no read)", out, err)
		}
	}
	// The instance changes but still uses the profile: its event re-reads
	// it and the profile, and nothing else happens.
	inst := r.Instances["hand"]
	inst.Config = map[string]string{"user.note": "x"}
	r.Instances["hand"] = inst
	send(t, r, s, engine.Event{Object: hand})
	before := r.Requests()
	if out, err := s.Converge(t.Context(), profiles(1), st); err != nil || out.Observations != 0 || out.ObjectReads != 2 || out.Applied != 0 {
		t.Fatalf("pass after the blocking instance changed: %+v, %v (want 2 targeted reads, nothing else)", out, err)
	}
	if n := r.Requests() - before; n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
	if err := r.DeleteInstance(t.Context(), "hand"); err != nil {
		t.Fatal(err)
	}
	// The instance is not in the configuration, but it blocked a delete:
	// its event is read, with the profile, and the delete is planned again
	// from a full read.
	send(t, r, s, engine.Event{Object: hand})
	out, err = s.Converge(t.Context(), profiles(1), st)
	if err != nil || out.Applied != 1 || out.Observations != 1 || len(out.Blocked) != 0 {
		t.Fatalf("pass after the blocking instance went: %+v, %v (want the delete after one full read)", out, err)
	}
	if _, ok := r.Profiles["p1"]; ok {
		t.Fatal("p1 not deleted")
	}
}

// The worker wants the events of a blocked delete's objects and users
// (Outcome.Blocked), though the configuration does not mention them, and
// keeps wanting them across a configuration change until the next pass.
func TestRelevanceWantsBlocked(t *testing.T) {
	hand := engine.Event{Object: engine.Address{Kind: engine.KindNode, Name: "hand"}}
	rel := newRelevance(profiles(1))
	if rel.wants(hand) {
		t.Fatal("an instance the configuration does not mention is wanted")
	}
	if !rel.withBlocked([]engine.Address{hand.Object}).wants(hand) {
		t.Fatal("the user of a blocked delete is not wanted")
	}
	w := newWorker(profiles(1), spec.Settings{}, "h", nil, slog.New(slog.NewTextHandler(io.Discard, nil)), defaultTimings, nil)
	w.rel = w.rel.withBlocked([]engine.Address{hand.Object})
	w.update(profiles(2), spec.Settings{}, "h2", false)
	if !w.rel.wants(hand) {
		t.Fatal("a configuration change forgot the blocked delete's user")
	}
}

// TestProfileEventBeforeItsChange replays LXD's profile PATCH: the event
// arrives, the pass reads the profile before LXD committed the change and
// finds nothing to do, and LXD sends no second event. The late delivery
// (LateRead) reads the profile again and the next pass restores it.
func TestProfileEventBeforeItsChange(t *testing.T) {
	r := &fakeRemote{events: make(chan engine.Event), Fake: enginetest.New("local"), MemStore: &lease.MemStore{}}
	s := session(t, r)
	s.(*engineSession).lateRead = 20 * time.Millisecond
	desired := profiles(1)
	desired.Profiles[0].Config = map[string]string{"user.index": "0"}
	st := spec.Settings{Owner: "t", MaxDeletes: 10}
	if _, err := s.Converge(t.Context(), desired, st); err != nil {
		t.Fatal(err)
	}
	delivered := make(chan engine.Event, 4)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Watch(ctx, func(ev engine.Event) { delivered <- ev })
	}()
	defer func() { cancel(); <-done }()
	ev := profileEvent("p0")
	r.events <- ev
	if got := <-delivered; got != ev {
		t.Fatalf("delivered %+v, want %+v", got, ev)
	}
	// The pass the event causes, made before the change is visible.
	if out, err := s.Converge(t.Context(), desired, st); err != nil || out.Applied != 0 {
		t.Fatalf("pass before the commit: %+v, %v; want nothing to do", out, err)
	}
	// LXD commits the PATCH; no event follows.
	p, err := r.GetProfile(t.Context(), "p0")
	if err != nil {
		t.Fatal(err)
	}
	p.Config["user.index"] = "drift"
	if err := r.UpdateProfile(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-delivered:
		if got != ev {
			t.Fatalf("late delivery %+v, want %+v", got, ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the profile event was not delivered again")
	}
	if out, err := s.Converge(t.Context(), desired, st); err != nil || out.Applied != 1 || out.Observations != 0 {
		t.Fatalf("pass after the late delivery: %+v, %v; want the profile restored from one read", out, err)
	}
	if p, _ := r.GetProfile(t.Context(), "p0"); p.Config["user.index"] != "0" {
		t.Errorf("user.index = %q after the pass, want 0", p.Config["user.index"])
	}
}

// TestLateReadsCoalesce: more events about one object while its late
// delivery waits make one delivery, and stop cancels what is pending.
func TestLateReadsCoalesce(t *testing.T) {
	l := newLateReads(time.Hour)
	got := 0
	deliver := func(engine.Event) { got++ }
	for range 3 {
		l.schedule(profileEvent("p0"), deliver)
	}
	l.schedule(profileEvent("p1"), deliver)
	if n := len(l.timers); n != 2 {
		t.Errorf("%d late deliveries pending, want 2 (one per profile)", n)
	}
	l.stop()
	l.schedule(profileEvent("p2"), deliver)
	if n := len(l.timers); n != 0 || got != 0 {
		t.Errorf("after stop: %d pending, %d delivered; want none", n, got)
	}
}
