package engine

import (
	"context"
	"fmt"
	"sort"

	"golang.org/x/sync/errgroup"
)

// observed is one remote's state from bulk reads, indexed by identity.
type observed struct {
	networks  map[string]Network
	profiles  map[string]Profile
	instances map[string]Instance
	forwards  map[fwdKey]Forward
	// forwardNetworks are the networks whose forwards were listed: only
	// there can forwards be created, compared or pruned.
	forwardNetworks map[string]bool
}

type fwdKey struct{ Network, Listen string }

// forwardCapable reports whether LXD 5.0 supports forwards on a network type.
func forwardCapable(n Network) bool {
	return n.Managed && (n.Type == "bridge" || n.Type == "ovn")
}

// observe reads a remote with three bulk list calls plus one forward list per
// forward-capable managed network, so its cost does not grow with the number
// of instances, devices or ports.
func observe(ctx context.Context, r Remote) (*observed, error) {
	var (
		nets  []Network
		profs []Profile
		insts []Instance
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		if nets, err = r.ListNetworks(gctx); err != nil {
			return fmt.Errorf("listing networks: %w", err)
		}
		return nil
	})
	g.Go(func() (err error) {
		if profs, err = r.ListProfiles(gctx); err != nil {
			return fmt.Errorf("listing profiles: %w", err)
		}
		return nil
	})
	g.Go(func() (err error) {
		if insts, err = r.ListInstances(gctx); err != nil {
			return fmt.Errorf("listing instances: %w", err)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	o := &observed{
		networks:        make(map[string]Network, len(nets)),
		profiles:        make(map[string]Profile, len(profs)),
		instances:       make(map[string]Instance, len(insts)),
		forwards:        map[fwdKey]Forward{},
		forwardNetworks: map[string]bool{},
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
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, name := range fwdNets {
		g.Go(func() (err error) {
			if lists[i], err = r.ListForwards(gctx, name); err != nil {
				return fmt.Errorf("listing forwards of network %q: %w", name, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i, name := range fwdNets {
		for _, f := range lists[i] {
			f.Network = name
			o.forwards[fwdKey{name, normalizeListenAddress(f.ListenAddress)}] = f
		}
	}
	return o, nil
}
