package engine

import (
	"sort"
	"strings"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// DestroyPlan plans the removal of everything the owner has on the remote
// (lxnetd destroy): the plan against an empty configuration, so it holds
// only deletes, and only of objects carrying the owner's tag; an unowned
// object is never in it, whatever the configuration declares. Instances are
// deleted only with s.DeleteInstances; otherwise they are Orphans, and the
// networks and profiles they use are Blockers. It does no I/O.
//
// declared is the remote's configuration (nil for none). It only names
// objects for --target: a target selects an owned object by its own address
// (node.web1, profile.p, forward.br0/198.51.100.10, also for objects no
// longer in the configuration), by the block that declares it (node.web
// whose name is "web1"), by a service or forward block whose ports are
// compiled into a forward, or by remote.NAME. Unlike apply's targets, a
// node's services do not select the node, and a node does not select the
// forwards that point at it: destroy deletes whole objects, so it deletes
// only what a target names. A network or profile whose users are not
// deleted with it is a Blocker, never a failed write.
func (o *Observation) DestroyPlan(declared *spec.Remote, s spec.Settings, opts PlanOptions) (*Plan, error) {
	owner := s.Owner
	if owner == "" {
		owner = spec.DefaultOwner
	}
	obs := o.obs
	p := &Plan{Remote: o.remote, Owner: owner, Requests: o.Requests, ForwardNetworks: len(obs.forwardNetworks)}
	pl := planner{plan: p, obs: obs, want: compile(&spec.Remote{Name: o.remote}, obs), owner: owner, settings: s}
	pl.acls()
	pl.networks()
	pl.profiles()
	pl.instances()
	pl.forwards()
	if len(opts.Targets) > 0 {
		if declared == nil {
			declared = &spec.Remote{Name: o.remote}
		}
		src := destroySources(compile(declared, obs))
		for _, c := range p.Changes {
			a := c.Addr
			a.Member = "" // a forward's blocks name it on every member
			c.Sources = src[a]
		}
		p.Changes = filterTargets(p.Changes, p.Remote, opts.Targets)
		var orphans []string
		for _, a := range p.Orphans {
			addr := Address{Kind: KindNode, Name: strings.TrimPrefix(a, string(KindNode)+".")}
			if selected(&Change{Addr: addr, Sources: src[addr]}, p.Remote, opts.Targets) {
				orphans = append(orphans, a)
			}
		}
		p.Orphans = orphans
	}
	// After the selection, so that a targeted network still used by an
	// instance the targets leave in place is reported, not attempted.
	pl.blockers()
	if declared != nil {
		markSensitive(p, compile(declared, obs), declared.Secrets)
	}
	sortChanges(p.Changes)
	sort.Strings(p.Orphans)
	return p, nil
}

// destroySources maps each object of a compiled configuration to the
// configuration addresses that name it for destroy --target: the block
// that declares it, and for a forward the forward and service blocks whose
// ports it holds (not the nodes they point at).
func destroySources(d *desired) map[Address][]string {
	out := map[Address][]string{}
	for name, it := range d.networks {
		out[Address{Kind: KindNetwork, Name: name}] = it.sources[:1]
	}
	for name, it := range d.acls {
		out[Address{Kind: KindACL, Name: name}] = it.sources[:1]
	}
	for name, it := range d.profiles {
		out[Address{Kind: KindProfile, Name: name}] = it.sources[:1]
	}
	for name, it := range d.instances {
		out[Address{Kind: KindNode, Name: name}] = it.sources[:1]
	}
	for k, it := range d.forwards {
		var src []string
		for _, s := range it.sources {
			if !strings.HasPrefix(s, string(KindNode)+".") {
				src = append(src, s)
			}
		}
		out[Address{Kind: KindForward, Network: k.Network, Name: k.Listen}] = src
	}
	return out
}
