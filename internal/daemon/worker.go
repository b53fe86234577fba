package daemon

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// workerTimings are the knobs of a worker; tests shorten them.
type workerTimings struct {
	Settle         time.Duration // wait after a mark so a burst of events is one pass
	ConnectTimeout time.Duration // bound on one connection attempt
	MinBackoff     time.Duration
	MaxBackoff     time.Duration
	// ReconnectAfter consecutive failed passes drop the connection: a
	// half-open TCP connection may never break the event stream.
	ReconnectAfter int
}

var defaultTimings = workerTimings{
	Settle:         100 * time.Millisecond,
	ConnectTimeout: 15 * time.Second,
	MinBackoff:     time.Second,
	MaxBackoff:     30 * time.Second,
	ReconnectAfter: 2,
}

// worker keeps one remote converged. Everything that wants a pass — a
// configuration change, an LXD event, the resync timer, a retry — only marks
// it dirty; the loop then runs one full observe/plan/apply pass. Marks
// coalesce, so a burst of events (including the echoes of lxnetd's own
// writes) costs one extra pass, which finds nothing to do.
type worker struct {
	name    string
	log     *slog.Logger
	connect Connector
	timings workerTimings
	changed func() // tells the daemon the status changed

	dirty     chan struct{}
	kick      chan struct{} // configuration changed: run now, even while backing off
	attempted chan struct{} // closed after the first pass attempt
	once      sync.Once

	mu        sync.Mutex
	desired   *spec.Remote
	rel       *relevance
	settings  spec.Settings
	hash      string
	reconnect bool      // connection fields changed: reconnect before the next pass
	passStart time.Time // non-zero while a pass runs
	st        RemoteStatus

	lease leaseState // the one-writer lease (lease.go); run's goroutine only
}

func newWorker(r *spec.Remote, s spec.Settings, hash string, connect Connector, log *slog.Logger, t workerTimings, changed func()) *worker {
	w := &worker{
		name:      r.Name,
		log:       log.With("remote", r.Name),
		connect:   connect,
		timings:   t,
		changed:   changed,
		dirty:     make(chan struct{}, 1),
		kick:      make(chan struct{}, 1),
		attempted: make(chan struct{}),
		desired:   r,
		rel:       newRelevance(r),
		settings:  s,
		hash:      hash,
	}
	w.lease.retry = stoppedTimer()
	w.st = RemoteStatus{Name: r.Name, Address: r.Address, State: StateConnecting}
	w.markDirty()
	return w
}

// markDirty requests a pass; it never blocks.
func (w *worker) markDirty() {
	select {
	case w.dirty <- struct{}{}:
	default:
	}
}

// update installs a new desired state and requests a pass; the connection
// is rebuilt first when reconnect is set or the connection fields changed.
func (w *worker) update(r *spec.Remote, s spec.Settings, hash string, reconnect bool) {
	w.mu.Lock()
	if reconnect || connectionChanged(w.desired, r) {
		w.reconnect = true
	}
	w.desired, w.settings, w.hash = r, s, hash
	w.rel = newRelevance(r)
	w.st.Address = r.Address
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// connectionChanged reports whether two remotes differ in how to reach them.
func connectionChanged(a, b *spec.Remote) bool {
	type conn struct{ addr, proj, cert, key, fp, lxc string }
	c := func(r *spec.Remote) conn {
		return conn{r.Address, r.Project, r.ClientCert, r.ClientKey, r.ServerFingerprint, r.LXCRemote}
	}
	return !reflect.DeepEqual(c(a), c(b))
}

// status returns a copy of the worker's state.
func (w *worker) status() RemoteStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.st
}

// stuckFor is how long the running pass has taken (0 when idle).
func (w *worker) stuckFor(now time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.passStart.IsZero() {
		return 0
	}
	return now.Sub(w.passStart)
}

// setStatus changes the worker's status under its lock, then pokes the
// daemon, whose loop reads it back with status() to update STATUS= and
// metrics.
func (w *worker) setStatus(f func(*RemoteStatus)) {
	w.mu.Lock()
	f(&w.st)
	w.mu.Unlock()
	if w.changed != nil {
		w.changed()
	}
}

// streamErr is an event stream's end, tagged with the session it belonged
// to so the error of a session already replaced is ignored.
type streamErr struct {
	gen int
	err error
}

// run is the worker loop; it returns when ctx is done. A pass in flight when
// ctx is cancelled gets the cancelled context: the engine stops before its
// next write and the write in flight completes.
func (w *worker) run(ctx context.Context) {
	var (
		sess Session
		gen  int
		// watch.cancel ends the current session's event stream; closeSession
		// calls it. (A field, not a variable: vet's lostcancel cannot see
		// that a closure calls it.)
		watch    struct{ cancel context.CancelFunc }
		streamC  = make(chan streamErr, 1)
		bo       = backoff{min: w.timings.MinBackoff, max: w.timings.MaxBackoff}
		retry    = stoppedTimer()
		resync   = stoppedTimer()
		failures int
	)
	closeSession := func() {
		if sess == nil {
			return
		}
		watch.cancel()
		w.dropLease(false) // renewals need the connection; retaken after reconnecting
		sess.Close()
		sess = nil
		w.setStatus(func(s *RemoteStatus) { s.Connected = false })
	}
	defer closeSession()
	defer retry.Stop()
	defer resync.Stop()
	defer w.lease.retry.Stop()
	defer w.dropLease(true) // before closeSession: a standby takes over at once

	backingOff := false
	for {
		// While backing off after a failure, events wait for the retry
		// (their mark stays pending), so a remote that fails on every
		// write cannot spin on the echoes of its own attempts. A
		// configuration change still runs at once.
		dirty := w.dirty
		if backingOff || w.lease.standby {
			dirty = nil // a standby does not write: its events wait for the lease
		}
		select {
		case <-ctx.Done():
			return
		case <-dirty:
		case <-w.kick:
		case <-retry.C:
		case <-resync.C:
			w.log.Debug("periodic resync")
		case <-w.lease.retry.C:
		case err := <-w.lease.lostC():
			w.leaseLost(err)
		case se := <-streamC:
			if se.gen != gen || sess == nil {
				continue
			}
			w.log.Warn("LXD event stream ended; reconnecting", "err", se.err)
			closeSession()
			w.setStatus(func(s *RemoteStatus) { s.Reconnects++ })
		}
		// Let a burst of marks settle into one pass.
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.timings.Settle):
		}
		select {
		case <-w.dirty:
		default:
		}
		select {
		case <-w.kick:
		default:
		}
		retry.Stop()
		backingOff = false
		w.lease.retry.Stop()
		w.lease.standby = false

		w.mu.Lock()
		desired, settings, hash, reconnect := w.desired, w.settings, w.hash, w.reconnect
		w.reconnect = false
		w.mu.Unlock()
		w.ownerChanged(settings) // while the old connection is up
		if reconnect {
			closeSession()
		}

		fail := func(what string, err error) {
			failures++
			wait := bo.next()
			now := time.Now()
			repeated := false
			w.setStatus(func(s *RemoteStatus) {
				repeated = s.State == StateFailing && s.LastError == err.Error()
				s.State, s.LastError, s.LastErrorAt, s.NextRetry = StateFailing, err.Error(), now, now.Add(wait)
			})
			// The same failure again (a remote down for hours) is logged
			// once at error level; status and STATUS= keep showing it.
			if repeated {
				w.log.Debug(what+" (still failing)", "err", err, "retry_in", wait.Round(time.Millisecond), "failures", failures)
			} else {
				w.log.Error(what, "err", err, "retry_in", wait.Round(time.Millisecond))
			}
			retry.Reset(wait)
			backingOff = true
			w.markAttempted()
		}

		if sess == nil {
			cctx, cancel := context.WithTimeout(ctx, w.timings.ConnectTimeout)
			s, err := w.connect(cctx, desired)
			cancel()
			if ctx.Err() != nil {
				if s != nil {
					s.Close()
				}
				return
			}
			if err != nil {
				w.setStatus(func(s *RemoteStatus) { s.LastAttempt = time.Now() })
				fail("connecting to remote", err)
				continue
			}
			sess = s
			gen++
			var wctx context.Context
			wctx, watch.cancel = context.WithCancel(ctx)
			go func(s Session, gen int) {
				err := s.Watch(wctx, w.onEvent)
				if wctx.Err() != nil {
					return
				}
				if err == nil {
					err = errors.New("event stream closed")
				}
				// Wait until the loop takes it or the session is closed:
				// dropping it could leave a dead stream unnoticed.
				select {
				case streamC <- streamErr{gen, err}:
				case <-wctx.Done():
				}
			}(sess, gen)
			w.setStatus(func(s *RemoteStatus) { s.Connected = true })
			w.log.Info("connected to remote", "address", desired.Address)
		}

		pass, standby, err := w.holdLease(ctx, sess, settings)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			fail("taking the lease", err)
			continue
		}
		if standby {
			continue
		}

		start := time.Now()
		w.mu.Lock()
		w.passStart = start
		w.st.Busy = true
		w.mu.Unlock()
		out, err := sess.Converge(pass, desired, settings)
		w.mu.Lock()
		w.passStart = time.Time{}
		w.mu.Unlock()
		w.setStatus(func(s *RemoteStatus) { s.LastAttempt = start; s.Passes++; s.Busy = false })
		if ctx.Err() != nil {
			return
		}
		if w.lostDuring(pass) {
			w.setStatus(func(s *RemoteStatus) { s.Writes += int64(out.Applied) })
			w.markDirty() // find who holds it now, and stand by
			continue
		}
		if err != nil {
			w.setStatus(func(s *RemoteStatus) { s.Writes += int64(out.Applied) })
			fail("converging remote", err)
			if failures >= w.timings.ReconnectAfter {
				closeSession()
			}
			continue
		}
		failures = 0
		bo.reset()
		every := settings.ResyncInterval
		if every <= 0 {
			every = spec.DefaultResyncInterval
		}
		resync.Reset(every)
		now := time.Now()
		repeated, recovered := false, false
		w.setStatus(func(s *RemoteStatus) {
			repeated = s.State == StateRefused && s.LastError == out.Refused
			recovered = s.State == StateFailing
			s.Objects = out.Objects
			s.Writes += int64(out.Applied)
			s.NextResync = now.Add(every)
			s.NextRetry = time.Time{}
			if out.Applied > 0 && s.ConfigHash == hash {
				// The configuration did not change since the last
				// successful pass, so these writes undid drift in LXD.
				s.DriftCorrections += int64(out.Applied)
			}
			if out.Refused != "" {
				s.State, s.LastError, s.LastErrorAt = StateRefused, out.Refused, now
				return
			}
			s.State, s.LastConverged, s.ConfigHash = StateConverged, now, hash
			s.LastError, s.LastErrorAt = "", time.Time{}
		})
		if recovered {
			w.log.Info("remote recovered", "objects", out.Objects)
		}
		switch {
		case out.Refused != "" && repeated:
			w.log.Debug("plan still refused by the safety gate", "plan_id", out.PlanID)
		case out.Refused != "":
			w.log.Error("plan refused by the safety gate; nothing written", "plan_id", out.PlanID, "reason", out.Refused)
		case out.Applied > 0:
			w.log.Info("converged", "plan_id", out.PlanID, "changes", out.Applied, "objects", out.Objects, "took", time.Since(start).Round(time.Millisecond))
		default:
			w.log.Debug("no changes", "plan_id", out.PlanID, "objects", out.Objects, "took", time.Since(start).Round(time.Millisecond))
		}
		w.markAttempted()
	}
}

// onEvent is the lifecycle-event handler: it only marks the remote dirty,
// and only for events about objects the configuration mentions (see
// relevance). The LXD client calls it on its own goroutines, in no
// particular order.
func (w *worker) onEvent(ev engine.Event) {
	w.mu.Lock()
	w.st.Events++
	wanted := w.rel.wants(ev)
	w.mu.Unlock()
	if !wanted {
		w.log.Debug("LXD event ignored", "object", ev.Object.String())
		return
	}
	w.log.Debug("LXD event", "object", ev.Object.String())
	w.markDirty()
}

// markAttempted tells the daemon, once, that the first pass was attempted
// (it sends READY=1 when every worker has).
func (w *worker) markAttempted() { w.once.Do(func() { close(w.attempted) }) }

// stoppedTimer is a timer that has not fired and will not until Reset, for
// the retry and resync timers before their first use.
func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}
