package daemon

import (
	"strings"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// relevance decides which LXD lifecycle events wake a remote's worker. On a
// shared host most events are about objects the configuration never
// mentions (other users' instances, their networks); a full pass for each
// would keep the worker busy and delay the correction of real drift.
//
// Filtering looks only at the object an event names, never at its content,
// so the loop stays level-triggered: a relevant event marks the remote
// dirty and the pass re-reads that object into the session's cache. The
// same filter (wantsObject) tells the cache which marked objects a pass
// must re-read: those of dropped events stay marked until a configuration
// mentions them or the next full read (periodic resync, reconnect). What
// the filter drops can only matter to objects lxnetd would not write anyway.
type relevance struct {
	networks  map[string]bool
	profiles  map[string]bool
	instances map[string]bool
	acls      map[string]bool
	// blocked are wanted whatever the configuration says: the objects
	// whose delete the last plan left out because something uses them,
	// and those users (Outcome.Blocked). An event on one of them may make
	// the delete possible.
	blocked map[engine.Address]bool
}

// newRelevance collects the names of everything desired on r, including
// objects referred to (the networks of NICs and forwards, the profiles of
// instances, the nodes whose live address a forward port uses).
func newRelevance(r *spec.Remote) *relevance {
	rel := &relevance{networks: map[string]bool{}, profiles: map[string]bool{}, instances: map[string]bool{}, acls: map[string]bool{}}
	if r == nil {
		return rel
	}
	for _, n := range r.Networks {
		rel.networks[n.Name] = true
		rel.addACLs(n.Config[engine.ACLsKey])
	}
	for _, a := range r.ACLs {
		rel.acls[a.Name] = true
	}
	for _, p := range r.Profiles {
		rel.profiles[p.Name] = true
		rel.addDevices(p.Devices)
	}
	for _, i := range r.Instances {
		rel.instances[i.Name] = true
		rel.networks[i.Network] = true
		for _, p := range i.Profiles {
			rel.profiles[p] = true
		}
		rel.addDevices(i.Devices)
	}
	for _, f := range r.Forwards {
		rel.networks[f.Network] = true
		for _, p := range f.Ports {
			rel.instances[p.TargetNode] = true
		}
	}
	for _, e := range r.Exposures {
		rel.networks[e.Network] = true
		rel.instances[e.Instance] = true
	}
	delete(rel.networks, "")
	delete(rel.instances, "")
	return rel
}

func (rel *relevance) addDevices(devs map[string]spec.Device) {
	for _, d := range devs {
		if n := d["network"]; n != "" {
			rel.networks[n] = true
		}
		if p := d["parent"]; p != "" {
			rel.networks[p] = true
		}
		rel.addACLs(d[engine.ACLsKey])
	}
}

// addACLs marks the ACLs a security.acls value names.
func (rel *relevance) addACLs(v string) {
	for _, name := range strings.Split(v, ",") {
		if name = strings.TrimSpace(name); name != "" {
			rel.acls[name] = true
		}
	}
}

// wants reports whether an event can change the plan: one about a declared
// or referred-to object (a forward's event is about its network). Events
// about objects lxnetd never plans are not; events the adapter could not
// read are, to be safe.
func (rel *relevance) wants(ev engine.Event) bool {
	if rel.blocked[ev.Object] {
		return true
	}
	switch o := ev.Object; o.Kind {
	case engine.KindNetwork:
		return rel.networks[o.Name]
	case engine.KindForward:
		return rel.networks[o.Network]
	case engine.KindProfile:
		return rel.profiles[o.Name]
	case engine.KindNode:
		return rel.instances[o.Name]
	case engine.KindACL:
		return rel.acls[o.Name]
	}
	return !ev.Unplanned
}

// wantsObject is wants for an object rather than an event: whether the
// cache should re-read it for a plan of this configuration.
func (rel *relevance) wantsObject(a engine.Address) bool {
	return rel.wants(engine.Event{Object: a})
}

// withBlocked returns rel wanting also the objects of a plan's blocked
// deletes and their users.
func (rel *relevance) withBlocked(objs []engine.Address) *relevance {
	out := *rel
	out.blocked = make(map[engine.Address]bool, len(objs))
	for _, a := range objs {
		out.blocked[a] = true
	}
	return &out
}
