package lease

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// The tests run in synctest bubbles: time is fake, and time.Sleep advances
// it as soon as every goroutine of the bubble is blocked, so expiry and
// renewal are tested without waiting and without depending on the machine's
// speed.

const ttl = 30 * time.Second

func holder(name string) Holder {
	return Holder{Host: name + "-host", PID: 100, Command: "lxnetd " + name, ID: name + "-id"}
}

func mustAcquire(t *testing.T, s Store, owner string, h Holder) *Lease {
	t.Helper()
	l, err := Acquire(t.Context(), s, owner, h, ttl)
	if err != nil {
		t.Fatalf("Acquire by %s: %v", h.Command, err)
	}
	return l
}

func TestAcquireRefusesWhileHeldAndTakesOverAfterExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &MemStore{}
		s.Set("core.https_address", "127.0.0.1:8443")
		a := mustAcquire(t, s, "edge", holder("a"))
		if a.Key() != "user.lxnetd.lease.edge" {
			t.Fatalf("key = %q", a.Key())
		}
		rec, err := parseRecord(a.Key(), s.Config()[a.Key()])
		if err != nil || rec == nil || rec.Holder != holder("a") || !rec.Expires.Equal(a.Record().Expires) {
			t.Fatalf("stored record %+v (%v), want holder a until %s", rec, err, a.Record().Expires)
		}

		time.Sleep(ttl - time.Second)
		_, err = Acquire(t.Context(), s, "edge", holder("b"), ttl)
		var held *HeldError
		if !errors.As(err, &held) {
			t.Fatalf("second Acquire before expiry: %v, want *HeldError", err)
		}
		if held.Record.Holder != holder("a") || !held.Record.Expires.Equal(a.Record().Expires) {
			t.Fatalf("HeldError names %+v, want holder a until %s", held.Record, a.Record().Expires)
		}

		// Another owner has a lease of its own.
		mustAcquire(t, s, "other", holder("b"))

		time.Sleep(2 * time.Second) // a's lease expired, never renewed
		b := mustAcquire(t, s, "edge", holder("b"))
		if got := s.Config()["core.https_address"]; got != "127.0.0.1:8443" {
			t.Fatalf("another server key changed: %q", got)
		}
		if err := a.Renew(t.Context()); !isLostTo(err, holder("b")) {
			t.Fatalf("Renew after takeover: %v, want *LostError naming b", err)
		}
		if err := b.Renew(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

func isLostTo(err error, h Holder) bool {
	var lost *LostError
	return errors.As(err, &lost) && lost.Now != nil && lost.Now.Holder == h
}

func TestSameHolderTakesItsLeaseBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &MemStore{}
		first := mustAcquire(t, s, "edge", holder("a"))
		time.Sleep(time.Second)
		again := mustAcquire(t, s, "edge", holder("a"))
		if !again.Record().Expires.After(first.Record().Expires) {
			t.Fatalf("retaken lease expires %s, not after %s", again.Record().Expires, first.Record().Expires)
		}
	})
}

func TestRenewExtends(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &MemStore{}
		a := mustAcquire(t, s, "edge", holder("a"))
		before := a.Record().Expires
		time.Sleep(ttl / 2)
		want := time.Now().Add(ttl)
		if err := a.Renew(t.Context()); err != nil {
			t.Fatal(err)
		}
		if !a.Record().Expires.Equal(want) || !want.After(before) {
			t.Fatalf("renewed until %s, want %s", a.Record().Expires, want)
		}
		time.Sleep(ttl/2 + time.Second) // past the first expiry, not the renewed one
		if _, err := Acquire(t.Context(), s, "edge", holder("b"), ttl); !errors.As(err, new(*HeldError)) {
			t.Fatalf("Acquire of a renewed lease: %v, want *HeldError", err)
		}
	})
}

func TestRenewAfterRemovalIsLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &MemStore{}
		a := mustAcquire(t, s, "edge", holder("a"))
		s.Set(a.Key(), "") // lxc config unset by an administrator
		var lost *LostError
		if err := a.Renew(t.Context()); !errors.As(err, &lost) || lost.Now != nil {
			t.Fatalf("Renew of a removed lease: %v, want *LostError without a holder", err)
		}
	})
}

func TestReleaseOnlyIfOurs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &MemStore{}
		s.Set("user.other", "kept")
		a := mustAcquire(t, s, "edge", holder("a"))
		if err := a.Release(t.Context()); err != nil {
			t.Fatal(err)
		}
		if v, ok := s.Config()[a.Key()]; ok {
			t.Fatalf("released lease still there: %q", v)
		}
		if s.Config()["user.other"] != "kept" {
			t.Fatalf("release touched another key: %v", s.Config())
		}

		// a takes it again, lets it expire; b takes over; a's release must
		// leave b's lease alone.
		a = mustAcquire(t, s, "edge", holder("a"))
		time.Sleep(ttl + time.Second)
		b := mustAcquire(t, s, "edge", holder("b"))
		if err := a.Release(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := s.Config()[a.Key()]; got != b.Record().encode() {
			t.Fatalf("a's release changed b's lease to %q", got)
		}
	})
}

func TestGarbageValueIsRefusedNotOverwritten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &MemStore{}
		s.Set(Key("edge"), "not json")
		_, err := Acquire(t.Context(), s, "edge", holder("a"), ttl)
		if err == nil || errors.As(err, new(*HeldError)) {
			t.Fatalf("Acquire over garbage: %v, want a plain error", err)
		}
		if s.Config()[Key("edge")] != "not json" {
			t.Fatal("garbage overwritten")
		}
	})
}

// conflictStore changes another key between each read and the next write
// the first n times, as other owners' renewals do.
type conflictStore struct {
	*MemStore
	n int
}

func (c *conflictStore) SetServerConfigKey(ctx context.Context, key, value, etag string) error {
	if c.n > 0 {
		c.n--
		c.Set("user.lxnetd.lease.someone-else", `{"holder":{"id":"x"},"expires":"2100-01-01T00:00:00Z"}`)
	}
	return c.MemStore.SetServerConfigKey(ctx, key, value, etag)
}

func TestConflictsAreRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &conflictStore{MemStore: &MemStore{}, n: 3}
		a := mustAcquire(t, s, "edge", holder("a"))
		s.n = 3
		if err := a.Renew(t.Context()); err != nil {
			t.Fatal(err)
		}
		s.n = 3
		if err := a.Release(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, ok := s.Config()[a.Key()]; ok {
			t.Fatal("not released")
		}
	})
}

// racyStore behaves as LXD does under a race: its ETag check happens before
// the write, so writers that read the same ETag all pass it. Reads wait
// until both writers have read (a barrier), forcing the race.
type racyStore struct {
	m      *MemStore // not embedded: racyStore is no atomicStore
	mu     sync.Mutex
	reads  int
	bothIn chan struct{}
}

func (r *racyStore) ServerConfigKey(ctx context.Context, key string) (string, string, error) {
	r.mu.Lock()
	r.reads++
	if r.reads == 2 {
		close(r.bothIn)
	}
	r.mu.Unlock()
	<-r.bothIn
	return r.m.ServerConfigKey(ctx, key)
}

func (r *racyStore) SetServerConfigKey(ctx context.Context, key, value, etag string) error {
	r.m.Set(key, value) // both passed the check already
	return nil
}

func TestRacingAcquiresHaveOneWinner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &racyStore{m: &MemStore{}, bothIn: make(chan struct{})}
		var (
			wg   sync.WaitGroup
			errs [2]error
		)
		for i, h := range []Holder{holder("a"), holder("b")} {
			wg.Go(func() { _, errs[i] = Acquire(t.Context(), s, "edge", h, ttl) })
		}
		wg.Wait()
		won, held := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.As(err, new(*HeldError)):
				held++
			default:
				t.Fatalf("unexpected error %v", err)
			}
		}
		if won != 1 || held != 1 {
			t.Fatalf("racing acquires: %d won, %d held (errors %v); want exactly one winner", won, held, errs)
		}
	})
}

func TestKeepRenewsUntilCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &MemStore{}
		a := mustAcquire(t, s, "edge", holder("a"))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- a.Keep(ctx) }()
		time.Sleep(3 * ttl)
		// Still ours: nobody else can take it.
		if _, err := Acquire(t.Context(), s, "edge", holder("b"), ttl); !errors.As(err, new(*HeldError)) {
			t.Fatalf("Acquire while kept: %v, want *HeldError", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Keep after cancel: %v", err)
		}
	})
}

func TestKeepReportsTakeover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &MemStore{}
		a := mustAcquire(t, s, "edge", holder("a"))
		done := make(chan error, 1)
		go func() { done <- a.Keep(t.Context()) }()
		time.Sleep(time.Second)
		// Someone overwrites the key by hand (or won a race).
		s.Set(a.Key(), Record{Holder: holder("b"), Acquired: time.Now(), Expires: time.Now().Add(ttl)}.encode())
		start := time.Now()
		err := <-done
		if !isLostTo(err, holder("b")) {
			t.Fatalf("Keep: %v, want *LostError naming b", err)
		}
		if took := time.Since(start); took > ttl/3 {
			t.Fatalf("loss noticed after %s, want within one renewal interval (%s)", took, ttl/3)
		}
	})
}

// failingStore fails every call once broken is set.
type failingStore struct {
	*MemStore
	mu     sync.Mutex
	broken bool
}

var errDown = errors.New("connection refused")

func (f *failingStore) down() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.broken
}

func (f *failingStore) ServerConfigKey(ctx context.Context, key string) (string, string, error) {
	if f.down() {
		return "", "", errDown
	}
	return f.MemStore.ServerConfigKey(ctx, key)
}

func TestKeepGivesUpBeforeExpiryWhenUnreachable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &failingStore{MemStore: &MemStore{}}
		a := mustAcquire(t, s, "edge", holder("a"))
		done := make(chan error, 1)
		go func() { done <- a.Keep(t.Context()) }()
		time.Sleep(ttl / 2) // one renewal went through
		renewed := a.Record().Expires
		s.mu.Lock()
		s.broken = true
		s.mu.Unlock()
		err := <-done
		var lost *LostError
		if !errors.As(err, &lost) || !errors.Is(err, errDown) {
			t.Fatalf("Keep with the remote down: %v, want *LostError wrapping the renewal error", err)
		}
		if now := time.Now(); !now.Before(renewed) {
			t.Fatalf("gave up at %s, not before the lease expired at %s", now, renewed)
		}
		if left := time.Until(renewed); left < ttl/6 {
			t.Fatalf("gave up with only %s left, want at least %s", left, ttl/6)
		}
	})
}

// splitViews is a cluster whose second member never applies changes: its
// view of every key stays empty, so no read-back can settle. (Not
// embedding MemStore: it would be an atomicStore, read back never.)
type splitViews struct{ m *MemStore }

func (s splitViews) ServerConfigKey(ctx context.Context, key string) (string, string, error) {
	return s.m.ServerConfigKey(ctx, key)
}

func (s splitViews) SetServerConfigKey(ctx context.Context, key, value, etag string) error {
	return s.m.SetServerConfigKey(ctx, key, value, etag)
}

func (s splitViews) ServerConfigKeyViews(ctx context.Context, key string) ([]string, error) {
	v, _, err := s.m.ServerConfigKey(ctx, key)
	return []string{v, ""}, err
}

// An Acquire whose read-back cannot settle fails with ErrUnsettled and gives
// back the record it wrote, so that it blocks no one until it expires.
func TestUnsettledAcquireGivesBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := splitViews{&MemStore{}}
		_, err := Acquire(t.Context(), s, "o", holder("a"), ttl)
		if !errors.Is(err, ErrUnsettled) {
			t.Fatalf("Acquire: %v, want ErrUnsettled", err)
		}
		if v, _, _ := s.ServerConfigKey(t.Context(), Key("o")); v != "" {
			t.Errorf("the unconfirmed record stayed: %q", v)
		}
	})
}

// An Acquire interrupted between writing and confirming (its context ends
// during the confirm wait) gives back the record it wrote, as an unsettled
// one does.
func TestInterruptedAcquireGivesBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := splitViews{&MemStore{}}
		ctx, cancel := context.WithTimeout(t.Context(), confirmDelay/2)
		defer cancel()
		_, err := Acquire(ctx, s, "o", holder("a"), ttl)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Acquire: %v, want the context's deadline", err)
		}
		if v, _, _ := s.ServerConfigKey(t.Context(), Key("o")); v != "" {
			t.Errorf("the unconfirmed record stayed: %q", v)
		}
	})
}

// readBackStore is a MemStore that does not say it is atomic: Acquire
// confirms its write by reading it back.
type readBackStore struct{ m *MemStore }

func (s readBackStore) ServerConfigKey(ctx context.Context, key string) (string, string, error) {
	return s.m.ServerConfigKey(ctx, key)
}

func (s readBackStore) SetServerConfigKey(ctx context.Context, key, value, etag string) error {
	return s.m.SetServerConfigKey(ctx, key, value, etag)
}

// AcquireNotify says when its record is written, before the confirm wait
// ends, once; and once too when it writes nothing.
func TestAcquireNotifySaysWhenWritten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := readBackStore{&MemStore{}}
		start := time.Now()
		var at []time.Duration
		l, err := AcquireNotify(t.Context(), s, "o", holder("a"), ttl, func() { at = append(at, time.Since(start)) })
		if err != nil || l == nil {
			t.Fatalf("AcquireNotify: %v", err)
		}
		if len(at) != 1 || at[0] != 0 || time.Since(start) < confirmDelay {
			t.Fatalf("written called at %v, Acquire returned after %v; want once at 0, before the confirm wait (%v)", at, time.Since(start), confirmDelay)
		}
		at = nil
		if _, err := AcquireNotify(t.Context(), s, "o", holder("b"), ttl, func() { at = append(at, time.Since(start)) }); !errors.As(err, new(*HeldError)) {
			t.Fatalf("second holder: %v, want HeldError", err)
		}
		if len(at) != 1 {
			t.Fatalf("written called %d times for an Acquire that wrote nothing, want once", len(at))
		}
	})
}
