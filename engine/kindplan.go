package engine

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// kindPlan is how the plan treats one kind of object declared by name
// (networks, profiles, nodes, ACLs). planKind takes the steps every such
// kind shares, in name order: create what the remote lacks, claim what it
// has (see claim) and update it, prune what this owner tags and no longer
// declares. The kind supplies what differs.
type kindPlan[T object] struct {
	kind     string // in problems: "network"
	declared map[string]*item[T]
	observed map[string]T
	// create plans a declared object the remote does not have.
	create func(name string, it *item[T])
	// refuse, when set, reports an existing object the plan cannot take,
	// whoever owns it, as a problem and returns true; it is then not
	// claimed.
	refuse func(name string, it *item[T], obs T) bool
	// update plans an existing object the plan may change.
	update func(name string, it *item[T], obs T, own ownership)
	// prune plans an owned object the configuration no longer declares.
	prune func(name string, obs T, own ownership)
}

// object is a kind of LXD object the plan compares (see fields).
type object interface{ fields() fields }

func planKind[T object](pl *planner, k kindPlan[T]) {
	for _, name := range slices.Sorted(maps.Keys(k.declared)) {
		it := k.declared[name]
		obs, exists := k.observed[name]
		switch {
		case !exists:
			k.create(name, it)
		case k.refuse != nil && k.refuse(name, it, obs):
		default:
			if own, ok := claim(pl, k.kind, name, obs.fields().config, it); ok {
				k.update(name, it, obs, own)
			}
		}
	}
	undeclaredOwned(pl, k.observed, k.declared, func(o T) map[string]string { return o.fields().config }, k.prune)
}

// claim counts an existing declared object toward Plan.Owned and reports
// whether the plan may change it: only if it carries this owner's tag or
// the configuration adopts it. Otherwise the object is a problem (unowned).
func claim[T any](pl *planner, kind, name string, config map[string]string, it *item[T]) (ownership, bool) {
	own := ownershipOf(config, pl.owner)
	if own.owned {
		pl.plan.Owned++
	}
	if !own.owned && !it.adopt {
		pl.unowned(kind, name, own, it.sources, it.pos)
		return own, false
	}
	return own, true
}

// unowned reports the problem of a declared object that exists without this
// owner's tag.
func (pl *planner) unowned(kind, name string, own ownership, src []string, pos spec.Pos) {
	addr := ""
	if len(src) > 0 {
		addr = src[0]
	}
	who := "not managed by lxnetd"
	if own.other != "" {
		who = fmt.Sprintf("owned by lxnetd owner %q, not %q", own.other, pl.owner)
	}
	pl.problems = append(pl.problems, Problem{
		Addr: addr, Pos: pos,
		Summary: fmt.Sprintf("%s %q already exists on remote %q and is %s", kind, name, pl.plan.Remote, who),
		Detail:  fmt.Sprintf("add adopt = true to %s to take it over, or choose another name", addr),
	})
}

// undeclaredOwned calls prune, in name order, for every observed object
// that carries this owner's tag and that the configuration no longer
// declares, counting each toward Plan.Owned.
func undeclaredOwned[K cmp.Ordered, T, D any](pl *planner, observed map[K]T, declared map[K]D, config func(T) map[string]string, prune func(K, T, ownership)) {
	for _, k := range slices.Sorted(maps.Keys(observed)) {
		obs := observed[k]
		own := ownershipOf(config(obs), pl.owner)
		if _, ok := declared[k]; ok || !own.owned {
			continue
		}
		pl.plan.Owned++
		prune(k, obs, own)
	}
}

// fields are what objects of every kind have: the description and config
// that the plan compares the same way everywhere, and the devices of the
// kinds that have them (profiles and nodes; hasDevices).
type fields struct {
	description string
	config      map[string]string
	devices     map[string]map[string]string
	hasDevices  bool
}

// diffFields compares the fields of an existing object with the declared
// ones into patch: devices and config keys lxnetd manages (bringing the
// ownership tags up to date), then the description.
func (pl *planner) diffFields(obs, want fields, own ownership, patch *Patch) []KeyDiff {
	var diffs []KeyDiff
	var devs []string
	if want.hasDevices {
		diffs, devs = diffDevices(obs.devices, want.devices, own, patch)
	}
	diffs = append(diffs, diffConfig(obs.config, want.config, own, pl.owner, devs, want.hasDevices, patch)...)
	return append(diffs, diffDescription(obs.description, want.description, patch)...)
}

func (n Network) fields() fields { return fields{description: n.Description, config: n.Config} }
func (a ACL) fields() fields     { return fields{description: a.Description, config: a.Config} }
func (f Forward) fields() fields { return fields{description: f.Description, config: f.Config} }
func (p Profile) fields() fields {
	return fields{description: p.Description, config: p.Config, devices: p.Devices, hasDevices: true}
}
func (i Instance) fields() fields {
	return fields{description: i.Description, config: i.Config, devices: i.Devices, hasDevices: true}
}
