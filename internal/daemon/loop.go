package daemon

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// The worker's loop, as a handler in steps: wait for a mark, settle,
// connect, hold the lease, run one pass, then handle failure or success.

// loop is the state of one worker's run: the connection and its event
// stream, the retry and resync timers and the failure count. Only run's
// goroutine touches it.
type loop struct {
	w         *worker
	sess      Session
	gen       int                // generation of sess, to ignore stale stream errors
	stopWatch context.CancelFunc // ends sess's event stream
	streamC   chan streamErr
	bo        backoff
	retry     *time.Timer
	resync    *time.Timer
	failures  int
	// backingOff: after a failure, events wait for the retry (their mark
	// stays pending), so a remote that fails on every write cannot spin on
	// the echoes of its own attempts. A configuration change still runs at
	// once.
	backingOff bool
	// kicked: the pass is for a configuration change, which the watcher
	// debounced already; it starts without the settle wait.
	kicked bool
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
	l := &loop{w: w, streamC: make(chan streamErr, 1),
		bo:    backoff{min: w.timings.MinBackoff, max: w.timings.MaxBackoff},
		retry: stoppedTimer(), resync: stoppedTimer()}
	defer l.closeSession()
	defer l.retry.Stop()
	defer l.resync.Stop()
	defer w.lease.retry.Stop()
	defer w.dropLease(true) // before closeSession: a standby takes over at once

	for l.wait(ctx) && l.settle(ctx) {
		desired, settings, hash, reconnect := w.take()
		w.ownerChanged(settings) // while the old connection is up
		if reconnect {
			l.closeSession()
		}
		if l.sess == nil && !l.connect(ctx, desired) {
			if ctx.Err() != nil {
				return
			}
			continue
		}
		pass, standby, err := w.holdLease(ctx, l.sess, settings)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			l.onFailure("taking the lease", err)
			continue
		}
		if standby {
			continue
		}
		start := time.Now()
		out, err := l.pass(pass, desired, settings)
		if ctx.Err() != nil {
			return
		}
		w.mu.Lock()
		w.rel = w.rel.withBlocked(out.Blocked)
		w.mu.Unlock()
		switch {
		case w.lostDuring(pass):
			w.setStatus(func(s *RemoteStatus) { s.Writes += int64(out.Applied) })
			w.markDirty() // find who holds it now, and stand by
		case err != nil:
			w.setStatus(func(s *RemoteStatus) { s.Writes += int64(out.Applied) })
			l.onFailure("converging remote", err)
			if l.failures >= w.timings.ReconnectAfter {
				l.closeSession()
			}
		default:
			l.onSuccess(out, settings, hash, start)
		}
	}
}

// wait blocks until something wants a pass; false when ctx is done.
func (l *loop) wait(ctx context.Context) bool {
	w := l.w
	for {
		dirty := w.dirty
		if l.backingOff || w.lease.standby {
			dirty = nil // a standby does not write: its events wait for the lease
		}
		select {
		case <-ctx.Done():
			return false
		case <-dirty:
		case <-w.kick:
			l.kicked = true
		case <-l.retry.C:
		case <-l.resync.C:
			w.log.Debug("periodic resync")
		case <-w.lease.retry.C:
		case err := <-w.lease.lostC():
			w.leaseLost(err)
		case se := <-l.streamC:
			if se.gen != l.gen || l.sess == nil {
				continue
			}
			w.log.Warn("LXD event stream ended; reconnecting", "err", se.err)
			l.closeSession()
			w.setStatus(func(s *RemoteStatus) { s.Reconnects++ })
		}
		return true
	}
}

// settle lets a burst of marks become one pass, then clears the marks and
// the timers that a pass supersedes; false when ctx is done. A pass for a
// configuration change does not wait: the file watcher's debounce already
// made a burst of edits one change, and the events that arrive meanwhile
// are read by this pass or mark the next.
func (l *loop) settle(ctx context.Context) bool {
	w := l.w
	wait := w.timings.Settle
	if l.kicked {
		wait = 0
	}
	l.kicked = false
	select {
	case <-ctx.Done():
		return false
	case <-time.After(wait):
	}
	select {
	case <-w.dirty:
	default:
	}
	select {
	case <-w.kick:
	default:
	}
	l.retry.Stop()
	l.backingOff = false
	w.lease.retry.Stop()
	w.lease.standby = false
	return true
}

// take returns what the next pass converges to.
func (w *worker) take() (desired *spec.Remote, settings spec.Settings, hash string, reconnect bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	reconnect, w.reconnect = w.reconnect, false
	return w.desired, w.settings, w.hash, reconnect
}

// connect opens a session and starts following its event stream; false
// when it failed (reported, retry scheduled) or ctx ended.
func (l *loop) connect(ctx context.Context, desired *spec.Remote) bool {
	w := l.w
	cctx, cancel := context.WithTimeout(ctx, w.timings.ConnectTimeout)
	s, err := w.connect(cctx, desired)
	cancel()
	if ctx.Err() != nil {
		if s != nil {
			s.Close()
		}
		return false
	}
	if err != nil {
		w.setStatus(func(s *RemoteStatus) { s.LastAttempt = time.Now() })
		l.onFailure("connecting to remote", err)
		return false
	}
	l.sess = s
	l.gen++
	wctx, stop := context.WithCancel(ctx)
	l.stopWatch = stop
	go func(s Session, gen int) {
		err := s.Watch(wctx, w.onEvent)
		if wctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("event stream closed")
		}
		// Wait until the loop takes it or the session is closed: dropping
		// it could leave a dead stream unnoticed.
		select {
		case l.streamC <- streamErr{gen, err}:
		case <-wctx.Done():
		}
	}(l.sess, l.gen)
	srv := sessionServer(l.sess)
	w.setStatus(func(s *RemoteStatus) { s.Connected, s.Server = true, srv.String() })
	w.log.Info("connected to remote", "address", desired.Address, "server_kind", srv.Kind, "server_version", srv.Version, "server_name", srv.Name)
	return true
}

// closeSession ends the event stream and the connection.
func (l *loop) closeSession() {
	if l.sess == nil {
		return
	}
	l.stopWatch()
	l.w.dropLease(false) // renewals need the connection; retaken after reconnecting
	l.sess.Close()
	l.sess = nil
	l.w.setStatus(func(s *RemoteStatus) { s.Connected = false })
}

// pass runs one convergence. A panic in it is the pass's failure, not the
// daemon's end: it is logged with its stack and retried with backoff like
// any other failure, and the other remotes never notice.
func (l *loop) pass(ctx context.Context, desired *spec.Remote, settings spec.Settings) (out Outcome, err error) {
	w := l.w
	start := time.Now()
	w.mu.Lock()
	w.passStart = start
	w.st.Busy = true
	w.mu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			w.log.Error("pass panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("internal error in a pass: %v", p)
		}
		w.mu.Lock()
		w.passStart = time.Time{}
		w.mu.Unlock()
		w.setStatus(func(s *RemoteStatus) {
			s.LastAttempt = start
			s.Passes++
			s.Busy = false
			s.FullReads += int64(out.Observations)
			s.ObjectReads += int64(out.ObjectReads)
			s.Requests += out.Requests
		})
	}()
	return l.sess.Converge(ctx, desired, settings)
}

// onFailure reports a failed step, backs off and schedules the retry.
func (l *loop) onFailure(what string, err error) {
	w := l.w
	l.failures++
	wait := l.bo.next()
	now := time.Now()
	repeated := false
	w.setStatus(func(s *RemoteStatus) {
		repeated = s.State == StateFailing && s.LastError == err.Error()
		s.State, s.LastError, s.LastErrorAt, s.NextRetry = StateFailing, err.Error(), now, now.Add(wait)
	})
	// The same failure again (a remote down for hours) is logged once at
	// error level; status and STATUS= keep showing it.
	if repeated {
		w.log.Debug(what+" (still failing)", "err", err, "retry_in", wait.Round(time.Millisecond), "failures", l.failures)
	} else {
		w.log.Error(what, "err", err, "retry_in", wait.Round(time.Millisecond))
	}
	l.retry.Reset(wait)
	l.backingOff = true
	w.markAttempted()
}

// onSuccess records a pass that ran to the end (a gate refusal included),
// resets the backoff and schedules the periodic resync.
func (l *loop) onSuccess(out Outcome, settings spec.Settings, hash string, start time.Time) {
	w := l.w
	l.failures = 0
	l.bo.reset()
	every := settings.ResyncInterval
	if every <= 0 {
		every = spec.DefaultResyncInterval
	}
	l.resync.Reset(every)
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
			// The configuration did not change since the last successful
			// pass, so these writes undid drift in LXD.
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
	took := time.Since(start).Round(time.Millisecond)
	switch {
	case out.Refused != "" && repeated:
		w.log.Debug("plan still refused by the safety gate", "plan_id", out.PlanID)
	case out.Refused != "":
		w.log.Error("plan refused by the safety gate; nothing written", "plan_id", out.PlanID, "reason", out.Refused)
	case out.Applied > 0:
		w.log.Info("converged", "plan_id", out.PlanID, "changes", out.Applied, "objects", out.Objects, "took", took, "lxd_requests", out.Requests, "full_reads", out.Observations)
	default:
		w.log.Debug("no changes", "plan_id", out.PlanID, "objects", out.Objects, "took", took, "lxd_requests", out.Requests, "full_reads", out.Observations)
	}
	w.markAttempted()
}
