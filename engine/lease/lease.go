// Package lease keeps one writer at a time per (remote, owner).
//
// Every lxnetd that writes to a remote for an owner — `lxnetd apply`, the
// daemon, any later writer — first takes the owner's lease on that remote.
// The lease lives in the remote itself, as one key of the LXD server
// configuration, user.lxnetd.lease.<owner> (see Key), so writers on different
// hosts (an apply on a laptop, a daemon on each of two hosts) meet at the
// same lock without any other service. Its value is a small JSON Record: who
// holds it (host, pid, command and a random id per process) and until when.
//
// Taking, renewing and releasing are compare-and-swap writes: read the server
// configuration with its ETag, decide, then write the one key with
// PATCH /1.0 and If-Match. LXD answers 412 when anything in the server
// configuration changed since the read; the writer then reads again and
// decides again. PATCH merges, so no other server setting is ever rewritten
// (a PUT of the whole configuration could drop a key written meanwhile).
//
// LXD checks If-Match before, not inside, the transaction that writes
// (api10Patch in lxd/api_1.0.go), so two writers that pass the check at the
// same moment can both succeed; the later write stands. Acquire therefore
// reads the key again after its write and succeeds only if its own record
// is the one that stands. It waits confirmDelay, or confirmFactor times as
// long as its own write took if that is longer: a rival write that passed
// the check with ours lands within about the time a write takes on that
// server now (in a cluster, the write includes telling the other members),
// so a loaded server is given proportionally longer. A renewal can only race with a takeover
// when the holder failed to renew for a whole TTL; the holder notices at its
// next renewal (TTL/3 later) and reports the lease lost.
//
// Expiry is the record's Expires compared with the reader's own clock, so
// hosts sharing a remote must keep their clocks roughly in step (NTP). The
// holder renews every TTL/3 to now+TTL; a reader whose clock runs ahead by
// more than 2/3 of the TTL could take over a live lease. It still has to win
// the compare-and-swap, and the holder then sees the new record at its next
// renewal and stops writing, so the overlap is bounded by TTL/3 — and every
// engine write is itself conditional on what was observed.
package lease

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/lxnetd/lxnetd/engine"
)

// KeyPrefix starts every lease key in the server configuration. LXD accepts
// any text after "user." in a server configuration key, and owners are
// restricted by config to letters, digits, "-", "_" and ".", so the owner is
// used verbatim.
const KeyPrefix = "user.lxnetd.lease."

// Key is the server configuration key of owner's lease.
func Key(owner string) string { return KeyPrefix + owner }

// Store is the server configuration of one remote, as far as leases need it.
// internal/lxd implements it for real; MemStore in memory.
type Store interface {
	// ServerConfigKey returns the value of one server configuration key (""
	// when unset) and the ETag of the whole server configuration.
	ServerConfigKey(ctx context.Context, key string) (value, etag string, err error)
	// SetServerConfigKey sets one key ("" removes it) and nothing else, only
	// if the server configuration's ETag is still etag. When it is not, it
	// fails with an error matching engine.ErrPreconditionFailed.
	SetServerConfigKey(ctx context.Context, key, value, etag string) error
}

// Holder says who holds a lease, for the messages of those who wait.
type Holder struct {
	Host    string `json:"host"`
	PID     int    `json:"pid"`
	Command string `json:"command"` // "lxnetd run", "lxnetd apply", ...
	// ID is random per process. It tells holders with the same host name
	// and pid apart (containers), and lets a process take its own lease back
	// after a lost connection instead of waiting for it to expire.
	ID string `json:"id"`
}

// NewHolder describes this process running command.
func NewHolder(command string) Holder {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	var b [8]byte
	_, _ = crand.Read(b[:])
	return Holder{Host: host, PID: os.Getpid(), Command: command, ID: hex.EncodeToString(b[:])}
}

// String is "lxnetd run (pid 4242 on host edge-1)".
func (h Holder) String() string {
	return fmt.Sprintf("%s (pid %d on host %s)", h.Command, h.PID, h.Host)
}

// Record is a lease's value in the server configuration.
type Record struct {
	Holder   Holder    `json:"holder"`
	Acquired time.Time `json:"acquired"` // RFC 3339, UTC
	Expires  time.Time `json:"expires"`
}

func (r Record) encode() string {
	r.Acquired, r.Expires = r.Acquired.UTC().Round(0), r.Expires.UTC().Round(0)
	b, _ := json.Marshal(r) // plain strings and times: cannot fail
	return string(b)
}

// parseRecord reads a key's value; "" is no record.
func parseRecord(key, value string) (*Record, error) {
	if value == "" {
		return nil, nil
	}
	var r Record
	if err := json.Unmarshal([]byte(value), &r); err != nil || r.Holder.ID == "" || r.Expires.IsZero() {
		return nil, fmt.Errorf("server configuration key %s holds %q, which is not an lxnetd lease; if nothing else uses it, remove it with `lxc config unset %s`", key, value, key)
	}
	return &r, nil
}

// HeldError is returned by Acquire when another holder's lease has not
// expired.
type HeldError struct {
	Key    string
	Record Record
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%s is held by %s since %s, until %s", e.Key, e.Record.Holder,
		e.Record.Acquired.UTC().Format(time.RFC3339), e.Record.Expires.UTC().Format(time.RFC3339))
}

// LostError is returned by Renew and Keep when the lease is no longer ours.
type LostError struct {
	Key string
	// Now is the record that replaced ours; nil when the key was removed or
	// could not be renewed before it expired.
	Now *Record
	Err error // the last renewal's error, when it was not renewed in time
}

func (e *LostError) Error() string {
	switch {
	case e.Now != nil:
		return fmt.Sprintf("lease %s lost: now held by %s until %s", e.Key, e.Now.Holder, e.Now.Expires.UTC().Format(time.RFC3339))
	case e.Err != nil:
		return fmt.Sprintf("lease %s lost: not renewed before it expired: %v", e.Key, e.Err)
	default:
		return fmt.Sprintf("lease %s lost: the key was removed", e.Key)
	}
}

func (e *LostError) Unwrap() error { return e.Err }

// confirmDelay is the least Acquire waits after its write before reading it
// back (see the package comment): far longer than LXD takes from its If-Match
// check to its commit (the few milliseconds of one database transaction;
// the whole PATCH takes 5–40 ms on the sandbox LXD), and with confirmFactor
// times the write's own duration it grows with the server's load. It is
// the time every apply waits before its first write, beside its reads:
// 1 s made it the longest part of a small apply (a one-port change at 30
// containers: 1.14 s from the lease's write to the forward's).
const confirmDelay = 300 * time.Millisecond

// confirmFactor scales the read-back wait with the observed write time.
const confirmFactor = 5

// atomicStore is a Store that checks the ETag and writes in one step
// (MemStore): Acquire needs no read-back there.
type atomicStore interface{ atomicCAS() }

// viewsStore is a Store whose server has several views of its
// configuration: the members of an LXD cluster, each of which applies a
// change of the cluster-wide configuration in its own time. Acquire's
// read-back then waits until every view agrees, so that two writers racing
// through different members cannot each read their own record back from a
// member that has not yet applied the other's.
type viewsStore interface {
	// ServerConfigKeyViews returns key as each view (cluster member) sees it.
	ServerConfigKeyViews(ctx context.Context, key string) ([]string, error)
}

// ErrUnsettled is Acquire's error when the cluster members' views of the
// lease did not agree in time (a member slow to apply configuration changes,
// as under heavy load): nothing is held, and the caller may try again, as
// the daemon does after its back-off.
var ErrUnsettled = errors.New("lease not confirmed: the cluster members disagree")

// maxSettle bounds how many times Acquire reads every view, settleInterval
// apart, waiting for them to agree.
const (
	maxSettle      = 15
	settleInterval = time.Second
)

// settledValue reads key back: on a viewsStore once every view agrees.
func settledValue(ctx context.Context, store Store, key string) (string, error) {
	vs, ok := store.(viewsStore)
	if !ok {
		value, _, err := store.ServerConfigKey(ctx, key)
		return value, err
	}
	for range maxSettle {
		views, err := vs.ServerConfigKeyViews(ctx, key)
		if err != nil {
			return "", err
		}
		if len(views) > 0 && !slices.ContainsFunc(views, func(v string) bool { return v != views[0] }) {
			return views[0], nil
		}
		if err := sleep(ctx, settleInterval); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("the cluster members' views of %s did not agree within %d reads: %w", key, maxSettle, ErrUnsettled)
}

// maxConflicts bounds the compare-and-swap retries of one call. Other keys
// written meanwhile (other owners' leases renewing) also change the ETag.
const maxConflicts = 20

// Lease is one held lease. Record may be called at any time; Renew, Keep
// and Release from one goroutine at a time.
type Lease struct {
	store Store
	key   string
	ttl   time.Duration

	mu  sync.Mutex
	rec Record
}

// Acquire takes owner's lease on store for ttl. When another holder's lease
// has not expired it returns a *HeldError and writes nothing. A lease of the
// same holder (same ID) is taken back at once.
func Acquire(ctx context.Context, store Store, owner string, holder Holder, ttl time.Duration) (*Lease, error) {
	return AcquireNotify(ctx, store, owner, holder, ttl, nil)
}

// AcquireNotify is Acquire that calls written (when not nil) once, as soon
// as its record is written and the confirm wait begins, or when it returns
// without writing. A caller that reads the same server meanwhile starts
// its reads then: begun with the write, they would slow it down, and the
// confirm wait grows with the write's duration (confirmFactor).
func AcquireNotify(ctx context.Context, store Store, owner string, holder Holder, ttl time.Duration, written func()) (*Lease, error) {
	var once sync.Once
	notify := func() {
		if written != nil {
			once.Do(written)
		}
	}
	defer notify()
	if ttl <= 0 {
		return nil, fmt.Errorf("lease time must be positive, got %s", ttl)
	}
	if holder.ID == "" {
		// Its record would not read back as a lease (parseRecord).
		return nil, errors.New("a lease holder needs an ID: describe it with NewHolder")
	}
	key := Key(owner)
	for range maxConflicts {
		value, etag, err := store.ServerConfigKey(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("reading lease %s: %w", key, err)
		}
		cur, err := parseRecord(key, value)
		if err != nil {
			return nil, err
		}
		now := time.Now()
		if cur != nil && cur.Holder.ID != holder.ID && now.Before(cur.Expires) {
			return nil, &HeldError{Key: key, Record: *cur}
		}
		rec := Record{Holder: holder, Acquired: now, Expires: now.Add(ttl)}
		err = store.SetServerConfigKey(ctx, key, rec.encode(), etag)
		wrote := time.Since(now)
		if errors.Is(err, engine.ErrPreconditionFailed) {
			if err := pause(ctx); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("writing lease %s: %w", key, err)
		}
		l := &Lease{store: store, key: key, ttl: ttl, rec: rec}
		if _, ok := store.(atomicStore); ok {
			return l, nil
		}
		notify()
		if err := sleep(ctx, max(confirmDelay, confirmFactor*wrote)); err != nil {
			l.giveBack(ctx) // interrupted between writing and confirming
			return nil, err
		}
		value, err = settledValue(ctx, store, key)
		if err != nil {
			l.giveBack(ctx) // unconfirmed
			return nil, fmt.Errorf("reading lease %s back: %w", key, err)
		}
		stands, err := parseRecord(key, value)
		if err != nil {
			return nil, err
		}
		switch {
		case stands == nil:
			continue // removed at once: decide again
		case stands.Holder.ID != holder.ID:
			return nil, &HeldError{Key: key, Record: *stands}
		}
		return l, nil
	}
	return nil, fmt.Errorf("lease %s: the server configuration kept changing (%d conflicting writes); try again", key, maxConflicts)
}

// giveBack releases a lease Acquire wrote but could not confirm, rather
// than let a record that may be ours block others until it expires. It is
// best effort, with a context of its own: ctx may be why Acquire gave up.
func (l *Lease) giveBack(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = l.Release(rctx)
}

// Key is the lease's server configuration key.
func (l *Lease) Key() string { return l.key }

// Record is the lease as last written.
func (l *Lease) Record() Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rec
}

// TTL is the lease time each renewal extends it by.
func (l *Lease) TTL() time.Duration { return l.ttl }

// Renew extends the lease to now+TTL if it is still ours. It returns a
// *LostError when the key holds someone else's record or none.
func (l *Lease) Renew(ctx context.Context) error {
	rec := l.Record()
	err := l.swap(ctx, "renewing", func(cur *Record, bad error) (string, bool, error) {
		switch {
		case bad != nil:
			return "", false, &LostError{Key: l.key, Err: bad}
		case cur == nil || cur.Holder.ID != rec.Holder.ID:
			return "", false, &LostError{Key: l.key, Now: cur}
		}
		rec.Expires = time.Now().Add(l.ttl)
		return rec.encode(), true, nil
	})
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.rec = rec
	l.mu.Unlock()
	return nil
}

// Release removes the lease if it is still ours; someone else's record is
// left alone.
func (l *Lease) Release(ctx context.Context) error {
	id := l.Record().Holder.ID
	return l.swap(ctx, "releasing", func(cur *Record, bad error) (string, bool, error) {
		return "", bad == nil && cur != nil && cur.Holder.ID == id, nil
	})
}

// swap is one compare-and-swap of the lease key: decide sees the current
// record (nil for none; bad when the key holds something else) and returns
// the value to write, whether to write, or an error. A conflicting write
// (412) re-reads and decides again.
func (l *Lease) swap(ctx context.Context, what string, decide func(cur *Record, bad error) (string, bool, error)) error {
	for range maxConflicts {
		value, etag, err := l.store.ServerConfigKey(ctx, l.key)
		if err != nil {
			return fmt.Errorf("reading lease %s: %w", l.key, err)
		}
		next, write, err := decide(parseRecord(l.key, value))
		if err != nil || !write {
			return err
		}
		err = l.store.SetServerConfigKey(ctx, l.key, next, etag)
		if errors.Is(err, engine.ErrPreconditionFailed) {
			if err := pause(ctx); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("%s lease %s: %w", what, l.key, err)
		}
		return nil
	}
	return fmt.Errorf("%s lease %s: the server configuration kept changing (%d conflicting writes)", what, l.key, maxConflicts)
}

// Keep renews the lease every TTL/3 until ctx is done (it then returns nil)
// or the lease is lost (it returns a *LostError). A renewal that fails for
// another reason (the remote unreachable for a moment) is retried every
// TTL/10; once less than TTL/6 of the lease is left without a successful
// renewal, the lease counts as lost: a standby may take it over when it
// expires, so the holder must stop writing before that.
func (l *Lease) Keep(ctx context.Context) error {
	every, retry, margin := l.ttl/3, l.ttl/10, l.ttl/6
	wait := every
	for {
		if err := sleep(ctx, wait); err != nil {
			return nil
		}
		rctx, cancel := context.WithTimeout(ctx, every)
		err := l.Renew(rctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		var lost *LostError
		switch {
		case err == nil:
			wait = every
			continue
		case errors.As(err, &lost):
			return err
		}
		if time.Until(l.Record().Expires) < margin+retry {
			return &LostError{Key: l.key, Err: err}
		}
		wait = retry
	}
}

// pause waits a short random time before retrying a conflicting write, so
// two writers that conflicted do not meet again at once.
func pause(ctx context.Context) error {
	return sleep(ctx, time.Duration(10+rand.IntN(40))*time.Millisecond)
}

// sleep waits d or until ctx is done (then it returns ctx.Err()).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
