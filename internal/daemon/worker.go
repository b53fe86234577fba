package daemon

import (
	"log/slog"
	"maps"
	"reflect"
	"slices"
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
	w.rel = newRelevance(r).withBlocked(slices.Collect(maps.Keys(w.rel.blocked)))
	w.st.Address = r.Address
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// connectionChanged reports whether two remotes differ in how to reach them.
func connectionChanged(a, b *spec.Remote) bool {
	type conn struct{ addr, proj, cert, key, fp, lxc, incus string }
	c := func(r *spec.Remote) conn {
		return conn{r.Address, r.Project, r.ClientCert, r.ClientKey, r.ServerFingerprint, r.LXCRemote, r.IncusRemote}
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

// onEvent is the lifecycle-event handler: it only marks the remote dirty,
// and only for events about objects the configuration mentions (see
// relevance). The LXD client calls it on its own goroutines, in no
// particular order.
func (w *worker) onEvent(ev engine.Event) {
	w.mu.Lock()
	if !ev.Subscribed { // not an LXD event: the stream came up, read again
		w.st.Events++
	}
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
