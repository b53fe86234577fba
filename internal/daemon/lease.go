package daemon

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/lxnetd/lxnetd/engine/lease"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// One writer at a time.
//
// A worker writes to its remote only while it holds the owner's lease there
// (package engine/lease): a second daemon on the same files — on another
// host, for high availability — and an `lxnetd apply` by hand never write
// beside it. A worker that cannot take the lease is a standby: state
// "standby" naming the holder, no passes, and another try when the holder's
// lease expires (or sooner: an apply that finished releases it early). When
// it gets the lease it converges at once. A worker whose lease is lost (not
// renewed in time, or taken by someone else after it expired) stops the pass
// in flight before its next write and stands by. On shutdown, or when its
// remote leaves the configuration, the worker releases the lease so a standby
// takes over without waiting for the expiry.

// LeaseStore is where a Session keeps leases: the remote's server
// configuration.
type LeaseStore = lease.Store

// releaseTimeout bounds giving the lease back at shutdown.
const releaseTimeout = 5 * time.Second

// heldLease is a lease a worker holds, with its keeper.
type heldLease struct {
	l      *lease.Lease
	owner  string
	ttl    time.Duration
	ctx    context.Context // the passes' context: cancelled when the lease is lost
	cancel context.CancelFunc
	lost   chan error // Keep's *LostError, at most one
	done   chan struct{}
}

// leaseState is the worker's side of the lease; only the worker's run
// goroutine touches it.
type leaseState struct {
	holder  lease.Holder
	held    *heldLease
	standby bool        // waiting for another holder's lease to expire
	retry   *time.Timer // standby: when to try again
	holderS string      // the holder last reported, to log a change once
}

// leaseTTL is the configured lease time.
func leaseTTL(s spec.Settings) time.Duration {
	if s.LeaseTTL > 0 {
		return s.LeaseTTL
	}
	return spec.DefaultLeaseTTL
}

// lostC is the channel on which the keeper reports a lost lease (nil, which
// blocks forever, when no lease is held).
func (ls *leaseState) lostC() <-chan error {
	if ls.held == nil {
		return nil
	}
	return ls.held.lost
}

// holdLease makes sure the worker holds the lease of settings.Owner on sess
// before a pass, and returns the context the pass must run on (cancelled if
// the lease is lost). standby is true when another writer holds it: the
// worker then reported itself as standby and set its retry timer. err is
// any other failure to take it (the remote unreachable, a garbled key).
func (w *worker) holdLease(ctx context.Context, sess Session, s spec.Settings) (pass context.Context, standby bool, err error) {
	ls := &w.lease
	ttl := leaseTTL(s)
	w.ownerChanged(s)
	if h := ls.held; h != nil && h.ttl != ttl {
		w.dropLease(false) // a reload changed the lease time: take it again with the new one
	}
	if h := ls.held; h != nil {
		return h.ctx, false, nil
	}
	l, err := lease.Acquire(ctx, sess.Leases(), s.Owner, ls.holder, ttl)
	var held *lease.HeldError
	switch {
	case errors.As(err, &held):
		w.standBy(held, ttl)
		return nil, true, nil
	case err != nil:
		return nil, false, err
	}
	h := &heldLease{l: l, owner: s.Owner, ttl: ttl, lost: make(chan error, 1), done: make(chan struct{})}
	h.ctx, h.cancel = context.WithCancel(ctx)
	go func() {
		defer close(h.done)
		if err := l.Keep(h.ctx); err != nil {
			h.lost <- err
			h.cancel() // stop the pass in flight before its next write
		}
	}()
	ls.held = h
	if ls.holderS != "" {
		w.log.Info("lease taken over; converging", "lease", l.Key(), "previous_holder", ls.holderS, "ttl", ttl)
	} else {
		w.log.Info("lease taken", "lease", l.Key(), "ttl", ttl)
	}
	ls.holderS = ""
	w.setStatus(func(st *RemoteStatus) {
		st.Lease, st.LeaseHolder, st.LeaseExpires = LeaseHeld, "", time.Time{}
		if st.State == StateStandby {
			st.State, st.NextRetry = StatePending, time.Time{} // the pass that follows says how it went
		}
	})
	return h.ctx, false, nil
}

// ownerChanged gives the lease back when a reload changed the owner: the
// old owner's lease is no longer this daemon's business.
func (w *worker) ownerChanged(s spec.Settings) {
	if h := w.lease.held; h != nil && h.owner != s.Owner {
		w.dropLease(true)
	}
}

// standBy reports the worker as standby and schedules the next try.
func (w *worker) standBy(held *lease.HeldError, ttl time.Duration) {
	ls := &w.lease
	rec := held.Record
	wait := standbyWait(time.Until(rec.Expires), ttl)
	ls.standby = true
	ls.retry.Reset(wait)
	who := rec.Holder.String()
	if who != ls.holderS {
		w.log.Info("standing by: another writer holds the lease", "lease", held.Key, "holder", who,
			"until", rec.Expires.UTC().Format(time.RFC3339), "retry_in", wait.Round(time.Millisecond))
	} else {
		w.log.Debug("still standing by", "holder", who, "retry_in", wait.Round(time.Millisecond))
	}
	ls.holderS = who
	now := time.Now()
	w.setStatus(func(st *RemoteStatus) {
		st.State, st.Lease, st.LeaseHolder, st.LeaseExpires = StateStandby, LeaseStandby, who, rec.Expires
		st.NextRetry, st.LastAttempt = now.Add(wait), now
	})
	w.markAttempted()
}

// standbyWait is how long a standby waits before trying again: until the
// holder's lease expires (left), but at most a third of the lease time — an
// apply that finished gives the lease back early — plus up to a tenth of it
// at random, so that several standbys do not all try at the same moment.
func standbyWait(left, ttl time.Duration) time.Duration {
	wait := min(max(left, 0), ttl/3)
	return wait + rand.N(ttl/10+1)
}

// leaseLost is the keeper's report: stop writing and stand by (the next pass
// tries to take the lease again and finds who holds it now).
func (w *worker) leaseLost(err error) {
	w.log.Error("lease lost; writing stopped until it is taken again", "err", err)
	w.dropLease(false)
	w.setStatus(func(st *RemoteStatus) { st.Lease = "" })
}

// lostDuring reports whether the lease was lost while a pass ran on pass (its
// context): the keeper then cancelled it.
func (w *worker) lostDuring(pass context.Context) bool {
	h := w.lease.held
	if h == nil || pass.Err() == nil {
		return false
	}
	select {
	case err := <-h.lost:
		w.leaseLost(err)
		return true
	default:
		return false
	}
}

// dropLease stops renewing the lease; with release it also gives it back (a
// clean shutdown, an owner changed), otherwise it is left to expire or to be
// taken back by this process after a reconnect.
func (w *worker) dropLease(release bool) {
	h := w.lease.held
	if h == nil {
		return
	}
	w.lease.held = nil
	h.cancel()
	<-h.done
	if !release {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	if err := h.l.Release(ctx); err != nil {
		w.log.Warn("could not release the lease; it expires by itself", "lease", h.l.Key(), "err", err,
			"expires", h.l.Record().Expires.UTC().Format(time.RFC3339))
		return
	}
	w.log.Info("lease released", "lease", h.l.Key())
}
