package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/cache"
	"github.com/lxnetd/lxnetd/engine/lease"
	"github.com/lxnetd/lxnetd/engine/render"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// Remote is what a session needs from one connection to LXD: the engine's
// reads and writes, the lifecycle event stream, and the server
// configuration where leases live. The daemon gets remotes from its caller
// (cmd/lxnetd dials internal/lxd; tests use fakes), so it never imports the
// LXD client.
type Remote interface {
	engine.Remote
	lease.Store
	// Watch blocks receiving lifecycle events (see Session.Watch).
	Watch(ctx context.Context, onEvent func(engine.Event)) error
	// Close releases the connection.
	Close()
}

// Dialer connects to one remote; its errors name the remote.
type Dialer func(ctx context.Context, r *spec.Remote) (Remote, error)

// EngineConnector is the production Connector: it dials the remote and
// converges with the engine (observe, plan, gate, apply), planning from an
// event-fed cache of the remote that lives as long as the connection.
func EngineConnector(dial Dialer, log *slog.Logger, parallelism int) Connector {
	return func(ctx context.Context, r *spec.Remote) (Session, error) {
		rem, err := dial(ctx, r)
		if err != nil {
			return nil, err
		}
		return &engineSession{rem: rem, log: log.With("remote", r.Name), parallelism: parallelism, cache: cache.New(rem), lateRead: LateRead}, nil
	}
}

// engineSession is one connection to a remote and its cache (package
// engine/cache). A new connection starts with an empty cache, so a
// reconnect always reads everything again.
type engineSession struct {
	rem         Remote
	log         *slog.Logger
	parallelism int
	cache       *cache.Cache
	lateRead    time.Duration // LateRead; tests shorten it
	// fullDeletes is what the last plan made from a full read deleted,
	// replaced or was kept from deleting (deletions).
	fullDeletes string

	// blockedMu guards blocked, which Watch reads on the event goroutine.
	blockedMu sync.Mutex
	// blocked maps each user of an object whose delete the last plan left
	// out (and each such object itself) to those objects: an event on one
	// marks them for re-reading, as their used_by changes without an event
	// of their own (see setBlocked).
	blocked map[engine.Address][]engine.Address
}

var _ Session = (*engineSession)(nil)

// replanRounds bounds how often one pass re-plans after writes that found
// the cache stale (a 404 or a 412 the engine's own re-read could not fix).
const replanRounds = 2

// Converge runs one pass. It plans from the cache (see plan), refuses plans
// the safety gate rejects (too many deletes, an empty desired set while
// objects are owned), and applies the rest with the engine, which writes
// deletes last. Every object written is read back into the cache. When
// writes failed only because an object was gone or changed (the cache was
// stale), those objects were just read again, and the pass plans and
// applies once more at once.
func (s *engineSession) Converge(ctx context.Context, desired *spec.Remote, settings spec.Settings) (out Outcome, err error) {
	out.PlanID = newPlanID()
	log := s.log.With("plan_id", out.PlanID)
	stats, requests := s.cache.Stats(), s.rem.Requests()
	defer func() {
		now := s.cache.Stats()
		out.Observations = int(now.Observations - stats.Observations)
		out.ObjectReads = int(now.ObjectReads - stats.ObjectReads)
		out.Requests = s.rem.Requests() - requests
	}()
	for round := 1; ; round++ {
		rel := newRelevance(desired).withBlocked(s.blockedObjects())
		p, err := s.plan(ctx, desired, settings, rel)
		if err != nil {
			return out, err
		}
		out.Blocked = s.setBlocked(p.BlockedBy)
		out.Objects = p.Owned
		if round == 1 {
			for _, w := range render.Warnings(p) { // orphans and blocked deletes, worded as plan prints them
				log.Warn("plan warning", "kind", w.Kind, "object", w.Address, "reason", w.Summary, "hint", w.Detail)
			}
		}
		if p.Empty() {
			return out, nil
		}
		sum := p.Summary()
		if err := engine.Gate(p, desired, settings, engine.GateOptions{}); err != nil {
			out.Refused, err = refusal(err)
			return out, err
		}
		log.Info("applying plan", "create", sum.Create, "update", sum.Update, "delete", sum.Delete, "replace", sum.Replace, "lxd_requests", p.Requests)
		res, err := engine.Apply(ctx, s.rem, p, engine.ApplyOptions{
			Parallelism: s.parallelism,
			Progress: func(cr engine.ChangeResult) {
				args := []any{"object", cr.Change.Addr.String(), "action", cr.Change.Action.String(), "took", cr.Duration.Round(time.Millisecond)}
				if len(cr.Change.Sources) > 0 {
					args = append(args, "source", cr.Change.Sources[0])
				}
				if cr.Err != nil {
					log.Error("change failed", append(args, "err", cr.Err)...)
					return
				}
				log.Info("change applied", args...)
			},
		})
		if res != nil {
			out.Applied += len(res.Done)
			out.Failed = len(res.Failed)
			s.readBack(ctx, res)
		}
		if err == nil {
			out.Objects = p.Owned + sum.Create - sum.Delete
			return out, nil
		}
		if round == replanRounds || ctx.Err() != nil || !staleOnly(res) {
			return out, err
		}
		log.Info("writes found the cache stale; planning again from the objects just read", "err", err)
	}
}

// readBack reads what Apply wrote (or tried to) into the cache; a failed
// read leaves the cache to observe everything at the next pass.
func (s *engineSession) readBack(ctx context.Context, res *engine.Result) {
	var written []*engine.Change
	for _, cr := range res.Done {
		written = append(written, cr.Change)
	}
	for _, cr := range res.Failed {
		written = append(written, cr.Change)
	}
	if err := s.cache.Wrote(ctx, written); err != nil {
		s.log.Warn("reading back written objects failed; the next pass reads everything", "err", err)
	}
}

// staleOnly reports whether every failed change failed because its object
// was gone or had changed since it was read: what a stale cache causes,
// and what planning again from a fresh read of it fixes.
func staleOnly(res *engine.Result) bool {
	if res == nil || len(res.Failed) == 0 {
		return false
	}
	for _, f := range res.Failed {
		if !errors.Is(f.Err, engine.ErrNotFound) && !errors.Is(f.Err, engine.ErrPreconditionFailed) {
			return false
		}
	}
	return true
}

// observeRetries bounds re-observation after a 404 during observe.
const observeRetries = 3

// plan plans from the cache. A plan that deletes or replaces anything, or
// leaves a delete out because something still uses the object, is made
// again from a full observation unless it was made from one (or the last
// full one found the same; see deletions): used_by is only as fresh as the
// last read of the object used, and its users change without an event for
// it.
//
// Observing is several bulk reads, not a snapshot: an object deleted
// between two of them (a network listed, then gone when its forwards are
// read) answers 404. That says only that LXD changed under the read, so
// the pass observes again at once instead of failing.
func (s *engineSession) plan(ctx context.Context, desired *spec.Remote, settings spec.Settings, rel *relevance) (*engine.Plan, error) {
	for failures := 0; ; {
		o, full, err := s.cache.Observation(ctx, desired, settings.ResyncInterval, rel.wantsObject)
		if err != nil {
			failures++
			if !errors.Is(err, engine.ErrNotFound) || failures == observeRetries || ctx.Err() != nil {
				return nil, err
			}
			s.log.Debug("object vanished while observing; observing again", "err", err)
			continue
		}
		p, err := o.Plan(desired, settings, engine.PlanOptions{})
		if err != nil {
			return nil, err
		}
		d := deletions(p)
		switch {
		case full:
			s.fullDeletes = d
		case d != "" && d != s.fullDeletes:
			s.log.Debug("the plan deletes; planning again from a full read")
			s.cache.Invalidate()
			continue
		}
		return p, nil
	}
}

// setBlocked records the blocked deletes of a plan (engine.Plan.BlockedBy:
// object → its users) and returns the objects and users, for the worker to
// want their events. An event on a user (an instance that lxnetd does not
// manage stops using an orphaned profile, or is deleted) then re-reads the
// blocked object too: its used_by changed, but LXD sends no event for it.
// A plan without the block then deletes it, from a full read (see plan).
func (s *engineSession) setBlocked(blockedBy map[engine.Address][]engine.Address) []engine.Address {
	m := map[engine.Address][]engine.Address{}
	for obj, users := range blockedBy {
		m[obj] = append(m[obj], obj)
		for _, u := range users {
			m[u] = append(m[u], obj)
		}
	}
	s.blockedMu.Lock()
	s.blocked = m
	s.blockedMu.Unlock()
	return slices.SortedFunc(maps.Keys(m), func(a, b engine.Address) int { return strings.Compare(a.String(), b.String()) })
}

// blockedObjects are the keys of blocked (objects and users).
func (s *engineSession) blockedObjects() []engine.Address {
	s.blockedMu.Lock()
	defer s.blockedMu.Unlock()
	return slices.Collect(maps.Keys(s.blocked))
}

// deletions sums up what a plan deletes or replaces, and which deletes its
// users block ("" for none). A plan from the cache whose deletions are
// those of the last plan made from a full read needs no new full read: a
// delete blocked for good (a profile an orphaned instance still uses) or
// refused by the gate would otherwise cost one on every pass. A blocker
// whose users go away is lifted by their events (setBlocked): the blocked
// object is re-read, the plan now deletes it, and that plan is made again
// from a full read.
func deletions(p *engine.Plan) string {
	var out []string
	for _, c := range p.Changes {
		if c.Action == engine.Delete || c.Action == engine.Replace {
			out = append(out, c.Action.String()+" "+c.Addr.String())
		}
	}
	out = append(out, p.Blockers...)
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// Watch follows the remote's lifecycle events: each marks its object for
// re-reading in the cache before the worker hears of it. The stream coming
// up reaches the worker (as a pass to run) only when the cache read
// something before it, which it then reads again. An event LXD may send
// before its change is visible (a profile's: see LateRead) is delivered
// once more, late.
func (s *engineSession) Watch(ctx context.Context, onEvent func(engine.Event)) error {
	late := newLateReads(s.lateRead)
	defer late.stop()
	deliver := func(ev engine.Event) {
		s.cache.Note(ev)
		s.blockedMu.Lock()
		objs := s.blocked[ev.Object]
		s.blockedMu.Unlock()
		for _, o := range objs {
			s.cache.Note(engine.Event{Object: o})
		}
		onEvent(ev)
	}
	return s.rem.Watch(ctx, func(ev engine.Event) {
		if ev.Subscribed {
			if s.cache.Subscribed() {
				onEvent(ev)
			}
			return
		}
		deliver(ev)
		if comesEarly(ev) {
			late.schedule(ev, deliver)
		}
	})
}

// Server is what the remote's server said about itself (zero when the
// remote does not say): the worker puts it in the status and the log.
func (s *engineSession) Server() engine.ServerInfo {
	if d, ok := s.rem.(engine.ServerDescriber); ok {
		return d.Server()
	}
	return engine.ServerInfo{}
}

// sessionServer is s's server, for sessions that know it.
func sessionServer(s Session) engine.ServerInfo {
	if d, ok := s.(engine.ServerDescriber); ok {
		return d.Server()
	}
	return engine.ServerInfo{}
}

// Leases is the remote's server configuration.
func (s *engineSession) Leases() LeaseStore { return s.rem }

// Close drops the connection.
func (s *engineSession) Close() { s.rem.Close() }

// newPlanID is a random id logged with every line of one pass, to find a
// pass's lines in the journal.
func newPlanID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// refusal is Outcome.Refused for a gate error (the remote is named by the
// status line already); other errors pass through.
func refusal(err error) (string, error) {
	var ge *engine.GateError
	if !errors.As(err, &ge) {
		return "", err
	}
	return ge.Reason + "; would delete " + listSome(ge.Deletes, 5) + " (" + ge.Hint + ")", nil
}

// listSome joins up to n items and says how many more there are.
func listSome(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
