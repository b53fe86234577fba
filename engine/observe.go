package engine

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"

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
	// read is what was listed (see readsFor).
	read reads
}

// fwdKey identifies a forward: observed, by its cluster member too
// ("" on a standalone server); desired, without one (forwardmember.go).
type fwdKey struct{ Network, Listen, Member string }

// forwardCapable reports whether LXD 5.0 supports forwards on a network type.
func forwardCapable(n Network) bool {
	return n.Managed && spec.ForwardCapable(n.Type)
}

// reads are the collections an observation lists.
// images says the plan may list images (see needImages).
type reads struct{ networks, profiles, instances, forwards, acls, images bool }

var readAll = reads{networks: true, profiles: true, instances: true, forwards: true, acls: true, images: true}

// readsFor returns what a plan limited to targets (--target) needs to read
// on remote: a forward only networks and their forwards, a profile only
// profiles, instances (whose use of it may block its delete) and ACLs, an
// ACL only ACLs (their used_by names their users); a node (it
// selects the forwards that expose it too), a network, a service, this
// remote, or no target at all everything, and a target on another remote
// nothing. A kind a target does not need is not
// listed at all, so the plan cannot show (or trip over) objects of that
// kind; Plan drops their changes anyway. Instances are read whenever a
// forward port names a node without an address: its address comes from LXD.
func readsFor(remote string, desired *spec.Remote, targets []string) reads {
	if len(targets) == 0 {
		return readAll
	}
	var rd reads
	for _, t := range targets {
		kind, _, _ := strings.Cut(t, ".")
		switch kind {
		case "remote":
			if t == "remote."+remote {
				return readAll
			}
		case "forward":
			rd.networks, rd.forwards = true, true
		case "profile":
			// ACLs too: a profile's NICs may name one (missingACLs).
			rd.profiles, rd.instances, rd.acls = true, true, true
		case "acl":
			rd.acls = true
		default:
			return readAll
		}
	}
	if desired != nil && slices.ContainsFunc(desired.Forwards, func(f spec.Forward) bool {
		return slices.ContainsFunc(f.Ports, func(p spec.ForwardPort) bool { return p.TargetNode != "" && p.TargetAddress == "" })
	}) {
		rd.instances = true
	}
	return rd
}

// observe reads a remote with up to four bulk list calls (those rd asks
// for) plus one forward list per forward-capable managed network, so its
// cost does not grow with the number of instances, devices or ports. The
// forward lists start as soon as the networks are known, beside the other
// lists: a plan waits for the slowest chain, not for the sum.
func observe(ctx context.Context, r Remote, rd reads) (*observed, error) {
	var (
		nets  []Network
		fwds  networkForwards
		profs []Profile
		insts []Instance
		acls  []ACL
	)
	g, gctx := errgroup.WithContext(ctx)
	if rd.networks || rd.forwards {
		g.Go(func() (err error) {
			if nfl, ok := r.(NetworkForwardsLister); ok && rd.forwards {
				if nets, fwds, err = nfl.ListNetworksAndForwards(gctx); err != nil || fwds != nil {
					return err
				}
			} else if nets, err = r.ListNetworks(gctx); err != nil || !rd.forwards {
				return err
			}
			fwds, err = listForwards(gctx, r, nets)
			return err
		})
	}
	if rd.profiles {
		g.Go(func() (err error) {
			profs, err = r.ListProfiles(gctx)
			return err
		})
	}
	if rd.instances {
		g.Go(func() (err error) {
			insts, err = r.ListInstances(gctx)
			return err
		})
	}
	// A server without network ACLs (API extension network_acl) has none
	// to list; a declared ACL is then a plan problem (serverProblems).
	if rd.acls && serverOf(r).HasExtension("network_acl") {
		g.Go(func() (err error) {
			acls, err = r.ListACLs(gctx)
			return err
		})
	}
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
		read:            rd,
	}
	for _, a := range acls {
		o.acls[a.Name] = a
	}
	for _, n := range nets {
		o.networks[n.Name] = n
	}
	for _, p := range profs {
		o.profiles[p.Name] = p
	}
	for _, i := range insts {
		o.instances[i.Name] = i
	}
	for name, list := range fwds {
		o.forwardNetworks[name] = true
		for _, f := range list {
			f.Network = name
			o.forwards[fwdKey{name, normalizeListenAddress(f.ListenAddress), f.Location}] = f
		}
	}
	return o, nil
}

// networkForwards are the forwards of each network whose forwards were
// listed, by network name.
type networkForwards = map[string][]Forward

// NetworkForwardsLister is what a Remote may offer to list the forwards of
// each forward-capable managed network as soon as that network is read, so
// that no forward list waits for the slowest network read (LXD answers a
// network's GET in tens to hundreds of milliseconds: it computes its
// used_by).
type NetworkForwardsLister interface {
	// ListNetworksAndForwards is ListNetworks, with the forwards of every
	// forward-capable managed network by network name; a network missing
	// since it was read (its forwards ErrNotFound) has no entry. forwards is
	// nil when it listed none (the engine then lists them).
	ListNetworksAndForwards(ctx context.Context) (nets []Network, forwards map[string][]Forward, err error)
}

// listForwards lists the forwards of every forward-capable managed network
// of nets, four at a time. A network deleted by someone else since it was
// listed has no forwards, and is not a network forwards can go on: it is
// left out.
func listForwards(ctx context.Context, r Remote, nets []Network) (networkForwards, error) {
	var names []string
	for _, n := range nets {
		if forwardCapable(n) {
			names = append(names, n.Name)
		}
	}
	sort.Strings(names)
	lists := make([][]Forward, len(names))
	gone := make([]bool, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, name := range names {
		g.Go(func() (err error) {
			lists[i], err = r.ListForwards(gctx, name)
			if errors.Is(err, ErrNotFound) {
				gone[i] = true
				return nil
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make(networkForwards, len(names))
	for i, name := range names {
		if !gone[i] {
			out[name] = lists[i]
		}
	}
	return out, nil
}
