package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
)

// Keeping an Observation current without observing again: the daemon's
// event-fed cache (package engine/cache) observes a remote once, then
// re-reads only the objects LXD's events name, in place, and plans from
// the result as from a fresh Observe.

// ErrUnknownKind is Refresh's answer for an address of a kind it cannot
// read on its own: the caller observes everything again instead.
var ErrUnknownKind = errors.New("no targeted read for this kind of object")

// Refresh re-reads the object a names into the observation with one
// targeted read (Remote.GetNetwork, ...), or drops it when it is gone. A
// network that became able to have forwards gets its forwards listed (one
// request); one that is gone, or no longer can, takes its forwards along.
// A forward of a network whose forwards were never listed refreshes the
// network instead. A network that is new to the observation or whose
// state changed also gets its forwards listed again: deleting a network
// takes its forwards along without an event for each, so a network deleted
// and re-created differently between two reads has lost them (one
// re-created identically is caught by the next full observation).
//
// It changes the observation in place: it must not run concurrently with
// Plan or another Refresh of the same observation. Plans already made are
// not affected (they hold copies of the objects, which are never modified
// in place). Requests counts the reads.
func (o *Observation) Refresh(ctx context.Context, r Remote, a Address) error {
	before := r.Requests()
	err := o.refresh(ctx, r, a)
	o.Requests += r.Requests() - before
	if err != nil {
		return fmt.Errorf("re-reading %s on remote %q: %w", a, o.remote, err)
	}
	return nil
}

func (o *Observation) refresh(ctx context.Context, r Remote, a Address) error {
	obs := o.obs
	switch a.Kind {
	case KindNetwork:
		n, err := r.GetNetwork(ctx, a.Name)
		if gone(err) {
			delete(obs.networks, a.Name)
			o.dropForwards(a.Name)
			return nil
		}
		if err != nil {
			return err
		}
		old, had := obs.networks[a.Name]
		obs.networks[a.Name] = n
		switch {
		case !forwardCapable(n):
			o.dropForwards(a.Name)
		case !obs.forwardNetworks[a.Name] || !had || old.ETag != n.ETag:
			return o.relistForwards(ctx, r, a.Name)
		}
		return nil
	case KindForward:
		if !obs.forwardNetworks[a.Network] {
			return o.refresh(ctx, r, Address{Kind: KindNetwork, Name: a.Network})
		}
		if len(obs.networks[a.Network].Locations) > 0 {
			// A cluster network: its forwards are per member, and the
			// event does not say which member's changed.
			return o.relistForwards(ctx, r, a.Network)
		}
		key := fwdKey{a.Network, normalizeListenAddress(a.Name), a.Member}
		f, err := r.GetForward(ctx, a.Network, a.Name, a.Member)
		if gone(err) {
			delete(obs.forwards, key)
			return nil
		}
		if err != nil {
			return err
		}
		f.Network = a.Network
		obs.forwards[key] = f
		return nil
	case KindProfile:
		return refreshOne(obs.profiles, a.Name, func() (Profile, error) { return r.GetProfile(ctx, a.Name) })
	case KindNode:
		return refreshOne(obs.instances, a.Name, func() (Instance, error) { return r.GetInstance(ctx, a.Name) })
	case KindACL:
		return refreshOne(obs.acls, a.Name, func() (ACL, error) { return r.GetACL(ctx, a.Name) })
	}
	return fmt.Errorf("%w: %s", ErrUnknownKind, a)
}

// refreshOne stores what get read under name, or drops name when it is gone.
func refreshOne[T any](m map[string]T, name string, get func() (T, error)) error {
	x, err := get()
	if gone(err) {
		delete(m, name)
		return nil
	}
	if err != nil {
		return err
	}
	m[name] = x
	return nil
}

func gone(err error) bool { return errors.Is(err, ErrNotFound) }

// relistForwards lists a network's forwards again (one request, every
// cluster member's), in place of those observed; a network gone since
// leaves the observation with its forwards.
func (o *Observation) relistForwards(ctx context.Context, r Remote, network string) error {
	obs := o.obs
	fwds, err := r.ListForwards(ctx, network)
	if gone(err) {
		delete(obs.networks, network) // deleted since it was read
		o.dropForwards(network)
		return nil
	}
	if err != nil {
		return err
	}
	o.dropForwards(network)
	obs.forwardNetworks[network] = true
	for _, f := range fwds {
		f.Network = network
		obs.forwards[fwdKey{network, normalizeListenAddress(f.ListenAddress), f.Location}] = f
	}
	return nil
}

// dropForwards forgets a network's forwards and that they were listed.
func (o *Observation) dropForwards(network string) {
	delete(o.obs.forwardNetworks, network)
	maps.DeleteFunc(o.obs.forwards, func(k fwdKey, _ Forward) bool { return k.Network == network })
}

// ForgetImages drops the image list ResolveImages made, so that the next
// ResolveImages lists images again (an image or alias may have changed).
func (o *Observation) ForgetImages() { o.obs.images = nil }
