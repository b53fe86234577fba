// Package cache keeps one remote's observed state current between full
// reads, so that a daemon pass plans from memory instead of re-listing the
// remote: the informer of client-go and controller-runtime, for lxnetd's
// engine.
//
// It owns when a remote is read, and how much:
//
//   - A full observation (engine.Observe: the bulk lists) when there is
//     none yet (a new connection: after a reconnect everything is read
//     again, as events may have been missed), once more when the event
//     stream came up only after the first one started (Subscribed), when
//     the last one is older
//     than the resync interval, when an event named something the cache
//     cannot place, or when too many objects changed at once (re-reading
//     them one by one would cost more than the lists).
//   - Otherwise only the objects LXD's lifecycle events named since they
//     were last read (Note), one targeted read each (engine's
//     Observation.Refresh), and only those the caller's configuration can
//     care about; the others wait, marked, until it can or until the next
//     full observation.
//   - After a write, the objects written (Wrote), again one read each. The
//     events LXD sends for lxnetd's own writes (their echoes) then name
//     objects already read after the write: the pass they cause re-reads
//     nothing, or one object, and lists nothing.
//
// The cache never patches state from an event's content: an event only
// says which object to read. Plans stay level-triggered, and writes stay
// conditional (the engine's ETags and re-read on 412), so a stale cache
// can cost a failed write and a re-read, never a clobbered object. The
// caller re-plans from a full observation before deleting anything
// (Observation reports whether it just made one): whether an object is
// still in use (used_by) is only as fresh as the last read of the object
// itself, and users change without an event for the object they use.
//
// A Cache is used by one pass at a time (Observation, Wrote, Invalidate);
// Note may be called from any goroutine, concurrently with a pass.
package cache

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// Limits on targeted reads; past them a full observation is cheaper.
const (
	// MaxRefresh is the most objects one pass re-reads one by one: LXD
	// answers a bulk list of a few hundred objects in about the time of
	// some tens of single reads.
	MaxRefresh = 64
	// maxPending bounds the objects remembered as changed: past it the
	// cache forgets them and observes everything at the next pass.
	maxPending = 4096
)

// Cache is the observed state of one remote, kept current from events.
// The zero value is not usable; call New.
type Cache struct {
	r engine.Remote

	mu sync.Mutex // guards the fields Note writes
	// pending are the objects events named since they were last read.
	pending map[engine.Address]struct{}
	// lost: an event named nothing the cache can place (or too many
	// objects changed): observe everything.
	lost bool
	// imagesChanged: an event about an image or alias arrived; list
	// images again when a plan needs them.
	imagesChanged bool
	// read: a full observation has started (see Subscribed).
	read bool

	// The pass's own state.
	obs      *engine.Observation
	listedAt time.Time
	images   string // the image references images were resolved for
	stats    Stats
}

// Stats count the reads a cache made, for status and tests.
type Stats struct {
	Observations int64 // full observations (bulk lists)
	ObjectReads  int64 // objects re-read one by one (after events and writes)
}

// New returns an empty cache of r: its first Observation observes everything.
func New(r engine.Remote) *Cache {
	return &Cache{r: r, pending: map[engine.Address]struct{}{}}
}

// Note records an event: the object it names is read again at the next
// pass that cares about it. It never blocks on LXD and may be called from
// any goroutine.
func (c *Cache) Note(ev engine.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case ev.Object != (engine.Address{}):
		if len(c.pending) >= maxPending {
			c.lost = true
			clear(c.pending)
			return
		}
		c.pending[ev.Object] = struct{}{}
	case ev.Images:
		c.imagesChanged = true
	case ev.Unplanned:
	default:
		c.lost = true
	}
}

// Subscribed records that the event stream is up and reports whether
// the cache must read everything again: a full observation started before
// events could reach it, so a change made meanwhile may have gone unseen
// (LXD offers no resource version to watch from, as Kubernetes does). The
// caller then runs a pass. A stream up before the first read costs nothing.
func (c *Cache) Subscribed() (again bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.read {
		c.lost = true
	}
	return c.read
}

// Invalidate makes the next Observation a full one (after a read failed,
// or before a plan that deletes).
func (c *Cache) Invalidate() {
	c.mu.Lock()
	c.lost = true
	c.mu.Unlock()
}

// Stats returns the reads made so far.
func (c *Cache) Stats() Stats { return c.stats }

// Observation returns the remote's state to plan desired from, with its
// images resolved for desired, and whether it was fully observed just now
// (full). resync is the age past which the cache observes everything again
// (spec.DefaultResyncInterval when 0); wants says which objects the
// caller's configuration cares about (nil: all). Its Requests field counts
// the requests this call made.
func (c *Cache) Observation(ctx context.Context, desired *spec.Remote, resync time.Duration, wants func(engine.Address) bool) (o *engine.Observation, full bool, err error) {
	if resync <= 0 {
		resync = spec.DefaultResyncInterval
	}
	before := c.r.Requests()
	todo, full := c.take(resync, wants)
	if full {
		if err := c.observe(ctx); err != nil {
			return nil, true, err
		}
	} else if err := c.refresh(ctx, todo); err != nil {
		return nil, false, err
	}
	if err := c.resolveImages(ctx, desired); err != nil {
		return nil, full, err
	}
	c.obs.Requests = c.r.Requests() - before
	return c.obs, full, nil
}

// take decides between a full observation and targeted reads, and takes
// the objects to read out of pending (an event arriving from now on marks
// its object again).
func (c *Cache) take(resync time.Duration, wants func(engine.Address) bool) (todo []engine.Address, full bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.obs == nil || c.lost || time.Since(c.listedAt) >= resync {
		// Everything an event named so far is in the lists to come.
		c.lost = false
		clear(c.pending)
		return nil, true
	}
	for a := range c.pending {
		if wants == nil || wants(a) {
			todo = append(todo, a)
		}
	}
	if len(todo) > MaxRefresh {
		c.lost = false
		clear(c.pending)
		return nil, true
	}
	for _, a := range todo {
		delete(c.pending, a)
	}
	slices.SortFunc(todo, func(a, b engine.Address) int {
		if a.Less(b) {
			return -1
		}
		if b.Less(a) {
			return 1
		}
		return 0
	})
	return todo, false
}

// observe lists everything. The clock starts before the lists: what
// changed while they ran is in them, or has an event pending.
func (c *Cache) observe(ctx context.Context) error {
	start := time.Now()
	c.mu.Lock()
	c.read = true
	c.mu.Unlock()
	o, err := engine.Observe(ctx, c.r)
	if err != nil {
		c.obs = nil
		return err
	}
	c.obs, c.listedAt, c.images = o, start, ""
	c.stats.Observations++
	return nil
}

// refresh re-reads addrs one by one. A failed read leaves the cache to a
// full observation next time; an object of a kind with no targeted read
// makes one now.
func (c *Cache) refresh(ctx context.Context, addrs []engine.Address) error {
	for _, a := range addrs {
		err := c.obs.Refresh(ctx, c.r, a)
		if errors.Is(err, engine.ErrUnknownKind) {
			return c.observe(ctx)
		}
		if err != nil {
			c.Invalidate()
			return err
		}
		c.stats.ObjectReads++
	}
	return nil
}

// Wrote re-reads the objects of changes Apply wrote or tried to write, so
// the cache holds what LXD made of them (filled-in keys, new ETags, or
// nothing when a write found the object gone). An event already received
// for one of them is answered by this read too.
func (c *Cache) Wrote(ctx context.Context, changes []*engine.Change) error {
	if c.obs == nil || len(changes) == 0 {
		return nil
	}
	seen := map[engine.Address]bool{}
	var addrs []engine.Address
	for _, ch := range changes {
		if !seen[ch.Addr] {
			seen[ch.Addr] = true
			addrs = append(addrs, ch.Addr)
		}
	}
	c.mu.Lock()
	for _, a := range addrs {
		delete(c.pending, a)
	}
	c.mu.Unlock()
	return c.refresh(ctx, addrs)
}

// Pending returns the objects events named that were not read since, for
// tests and debugging.
func (c *Cache) Pending() []engine.Address {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Collect(maps.Keys(c.pending))
}
