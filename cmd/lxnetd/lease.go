package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/lxnetd/lxnetd/engine/lease"
	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/lxnetd/lxnetd/internal/lxd"
)

// releaseTimeout bounds releasing the leases at the end of a command, which
// runs even after an interrupt.
const releaseTimeout = 10 * time.Second

// leaseTarget is a remote as holdLeases needs it (*lxd.Remote).
type leaseTarget interface {
	lease.Store
	Name() string
}

var _ leaseTarget = (*lxd.Remote)(nil)

// holdLeases is what every writer command (apply, destroy) calls after
// planning and before its first write: it takes the one-writer lease of
// s.Owner on each of remotes — those the command will write to — for
// command ("lxnetd apply"). When any is held by another writer it writes
// nothing, gives back what it took and returns an error naming the holder
// and what to do instead.
//
// While held, every lease is renewed in the background (package
// engine/lease). The returned context is cancelled when one is lost: the
// command then starts no new write, and the loss is reported on stderr.
// release stops renewing and removes the leases; it runs on a context of its
// own, so an interrupted command still releases, and may be called twice.
//
// With early (apply), the leases it took while observing are used: it
// waits for those of remotes, and hands them over (the rest it releases
// at releaseRest).
func holdLeases(ctx context.Context, remotes []leaseTarget, s spec.Settings, command string, stderr io.Writer, early *earlyLeases) (context.Context, func(), error) {
	holder := lease.NewHolder(command)
	leases := make([]*lease.Lease, len(remotes))
	errs := make([]error, len(remotes))
	var g errgroup.Group
	for i, r := range remotes {
		g.Go(func() error {
			l, err := early.take(r.Name())
			if l == nil && err == nil { // not taken early
				l, err = lease.Acquire(ctx, r, s.Owner, holder, leaseTTL(s))
			}
			if err != nil {
				errs[i] = explainHeld(r.Name(), s.Owner, command, err)
			}
			leases[i] = l
			return nil
		})
	}
	_ = g.Wait()

	var (
		mu       sync.Mutex
		lostOnce sync.Once
	)
	held, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	release := func() {
		cancel()
		wg.Wait()
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer rcancel()
		var rg errgroup.Group
		for i, l := range leases {
			if l == nil {
				continue
			}
			leases[i] = nil
			rg.Go(func() error {
				if err := l.Release(rctx); err != nil {
					mu.Lock()
					fmt.Fprintf(stderr, "Warning: %v (it expires by itself at %s)\n", err, l.Record().Expires.UTC().Format(time.RFC3339))
					mu.Unlock()
				}
				return nil
			})
		}
		_ = rg.Wait()
	}
	if err := errors.Join(errs...); err != nil {
		release()
		return nil, func() {}, err
	}
	for i, l := range leases {
		wg.Go(func() {
			if err := l.Keep(held); err != nil {
				lostOnce.Do(func() {
					mu.Lock()
					fmt.Fprintf(stderr, "Error: remote %q: %v; starting no further writes.\n", remotes[i].Name(), err)
					mu.Unlock()
					cancel()
				})
			}
		})
	}
	return held, release, nil
}

// leaseTTL is the lease time of s, or the default.
func leaseTTL(s spec.Settings) time.Duration {
	if s.LeaseTTL <= 0 {
		return spec.DefaultLeaseTTL
	}
	return s.LeaseTTL
}

// earlyLeases are the leases apply takes while it observes the remotes:
// Acquire waits after its write before it reads it back (engine/lease: at
// least 300 ms, longer when the write was slow), and that wait then
// overlaps the reads instead of following the plan (a one-port apply took
// ~1 s longer without). The reads start once the lease's record is
// written: begun with it, they slowed the write (100–140 ms instead of
// ~5 ms at 30 containers and 100 profiles) and so lengthened the wait. Like
// Terraform's state lock, the lease is taken before the plan: a remote
// whose plan turns out empty gets its lease released at once
// (releaseRest), and a lease held by someone else is an error only for a
// remote that has something to write. A nil *earlyLeases takes nothing.
type earlyLeases struct {
	ctx    context.Context
	s      spec.Settings
	holder lease.Holder

	mu      sync.Mutex
	pending map[string]*pendingLease // by remote name
}

// pendingLease is one early Acquire: l and err are set when done closes.
type pendingLease struct {
	done  chan struct{}
	l     *lease.Lease
	err   error
	taken bool // handed over to holdLeases
}

func newEarlyLeases(ctx context.Context, s spec.Settings, command string) *earlyLeases {
	return &earlyLeases{ctx: ctx, s: s, holder: lease.NewHolder(command), pending: map[string]*pendingLease{}}
}

// start begins taking r's lease in the background, and returns once its
// record is written (or the attempt ended without writing).
func (e *earlyLeases) start(r leaseTarget) {
	if e == nil {
		return
	}
	p := &pendingLease{done: make(chan struct{})}
	e.mu.Lock()
	e.pending[r.Name()] = p
	e.mu.Unlock()
	written := make(chan struct{})
	go func() {
		defer close(p.done)
		p.l, p.err = lease.AcquireNotify(e.ctx, r, e.s.Owner, e.holder, leaseTTL(e.s), func() { close(written) })
	}()
	<-written
}

// take waits for the early lease of remote and hands it over; (nil, nil)
// when none was started.
func (e *earlyLeases) take(remote string) (*lease.Lease, error) {
	if e == nil {
		return nil, nil
	}
	e.mu.Lock()
	p := e.pending[remote]
	if p != nil {
		p.taken = true
	}
	e.mu.Unlock()
	if p == nil {
		return nil, nil
	}
	<-p.done
	return p.l, p.err
}

// release gives back the early lease of one remote (one whose plan
// failed) before its connection closes.
func (e *earlyLeases) release(remote string) {
	if e != nil {
		e.releaseWhere(func(name string) bool { return name == remote })
	}
}

// releaseRest waits for the early leases nobody took (remotes with nothing
// to write, or a command that stopped before writing) and releases those
// it got.
func (e *earlyLeases) releaseRest() {
	if e != nil {
		e.releaseWhere(func(string) bool { return true })
	}
}

// releaseWhere releases the early leases not taken of the remotes match
// selects, waiting for their Acquire to end.
func (e *earlyLeases) releaseWhere(match func(remote string) bool) {
	e.mu.Lock()
	var rest []*pendingLease
	for name, p := range e.pending {
		if !p.taken && match(name) {
			p.taken = true
			rest = append(rest, p)
		}
	}
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(e.ctx), releaseTimeout)
	defer cancel()
	var g errgroup.Group
	for _, p := range rest {
		g.Go(func() error {
			<-p.done
			if p.l != nil {
				_ = p.l.Release(ctx) // unreleased, it expires by itself
			}
			return nil
		})
	}
	_ = g.Wait()
}

// explainHeld turns a *lease.HeldError into what the user needs: who writes
// to this remote and what to do instead.
func explainHeld(remote, owner, command string, err error) error {
	var held *lease.HeldError
	if !errors.As(err, &held) {
		return fmt.Errorf("remote %q: taking the lease of owner %q: %w", remote, owner, err)
	}
	h, until := held.Record.Holder, held.Record.Expires.UTC().Format(time.RFC3339)
	var b strings.Builder
	fmt.Fprintf(&b, "remote %q: owner %q is being written by %s since %s (lease %s until %s); %s refuses to write beside it.\n",
		remote, owner, h, held.Record.Acquired.UTC().Format(time.RFC3339), held.Key, until, command)
	if h.Command == "lxnetd run" {
		fmt.Fprintf(&b, "  A daemon keeps this owner converged: edit the files and run `lxnetd reload` (systemctl reload lxnetd) on host %s instead; stop that daemon first to write by hand. If it no longer runs, its lease expires at %s.", h.Host, until)
	} else {
		fmt.Fprintf(&b, "  Wait until it has finished and try again. If it crashed, its lease expires at %s and %s works again then.", until, command)
	}
	return errors.New(b.String())
}

// writtenRemotes are the remotes whose plan changes something: the ones a
// writer needs the lease of.
func writtenRemotes(rps []remotePlan) []leaseTarget {
	var out []leaseTarget
	for _, rp := range rps {
		if !rp.plan.Empty() {
			out = append(out, rp.remote)
		}
	}
	return out
}
