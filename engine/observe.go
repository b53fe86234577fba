package engine

import (
	"context"
	"errors"
	"sort"

	"golang.org/x/sync/errgroup"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// observed is one remote's state from bulk reads, indexed by identity.
type observed struct {
	networks  map[string]Network
	profiles  map[string]Profile
	instances map[string]Instance
	forwards  map[fwdKey]Forward
	acls      map[string]ACL
	// forwardNetworks are the networks whose forwards were listed: only
	// there can forwards be created, compared or pruned.
	forwardNetworks map[string]bool
	// images resolves image references; nil when the plan needs none
	// (see observeImages).
	images *images
}

type fwdKey struct{ Network, Listen string }

// forwardCapable reports whether LXD 5.0 supports forwards on a network type.
func forwardCapable(n Network) bool {
	return n.Managed && spec.ForwardCapable(n.Type)
}

// observe reads a remote with four bulk list calls (networks, profiles,
// instances, ACLs) plus one forward list per
// forward-capable managed network, so its cost does not grow with the number
// of instances, devices or ports.
func observe(ctx context.Context, r Remote) (*observed, error) {
	var (
		nets  []Network
		profs []Profile
		insts []Instance
		acls  []ACL
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		nets, err = r.ListNetworks(gctx)
		return err
	})
	g.Go(func() (err error) {
		profs, err = r.ListProfiles(gctx)
		return err
	})
	g.Go(func() (err error) {
		insts, err = r.ListInstances(gctx)
		return err
	})
	g.Go(func() (err error) {
		acls, err = r.ListACLs(gctx)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	o := &observed{
		networks:        make(map[string]Network, len(nets)),
		profiles:        make(map[string]Profile, len(profs)),
		instances:       make(map[string]Instance, len(insts)),
		forwards:        map[fwdKey]Forward{},
		acls:            make(map[string]ACL, len(acls)),
		forwardNetworks: map[string]bool{},
	}
	for _, a := range acls {
		o.acls[a.Name] = a
	}
	var fwdNets []string
	for _, n := range nets {
		o.networks[n.Name] = n
		if forwardCapable(n) {
			fwdNets = append(fwdNets, n.Name)
			o.forwardNetworks[n.Name] = true
		}
	}
	sort.Strings(fwdNets)
	for _, p := range profs {
		o.profiles[p.Name] = p
	}
	for _, i := range insts {
		o.instances[i.Name] = i
	}

	lists := make([][]Forward, len(fwdNets))
	gone := make([]bool, len(fwdNets))
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, name := range fwdNets {
		g.Go(func() (err error) {
			lists[i], err = r.ListForwards(gctx, name)
			if errors.Is(err, ErrNotFound) {
				// Deleted by someone else since the network list: it has no
				// forwards, and it is not a network forwards can go on.
				gone[i] = true
				return nil
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i, name := range fwdNets {
		if gone[i] {
			delete(o.forwardNetworks, name)
			continue
		}
		for _, f := range lists[i] {
			f.Network = name
			o.forwards[fwdKey{name, normalizeListenAddress(f.ListenAddress)}] = f
		}
	}
	return o, nil
}
