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
func holdLeases(ctx context.Context, remotes []leaseTarget, s spec.Settings, command string, stderr io.Writer) (context.Context, func(), error) {
	ttl := s.LeaseTTL
	if ttl <= 0 {
		ttl = spec.DefaultLeaseTTL
	}
	holder := lease.NewHolder(command)
	leases := make([]*lease.Lease, len(remotes))
	errs := make([]error, len(remotes))
	var g errgroup.Group
	for i, r := range remotes {
		g.Go(func() error {
			l, err := lease.Acquire(ctx, r, s.Owner, holder, ttl)
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
