package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// acls plans the ACLs like the other kinds: declared ones are created or
// updated (config, description, and the rule sets rule by rule), owned ones
// no longer declared are deleted once nothing uses them (see blockers).
// An adopted ACL's rules become the declared set.
func (pl *planner) acls() {
	planKind(pl, kindPlan[ACL]{kind: "acl", declared: pl.want.acls, observed: pl.obs.acls,
		create: func(name string, it *item[ACL]) {
			want := it.obj
			want.Config = withTags(want.Config, pl.owner, nil)
			pl.add(&Change{Addr: Address{Kind: KindACL, Name: name}, Action: Create, Sources: it.sources, Pos: it.pos, ACL: &want,
				Diffs: append(creationDiffs(want.Description, want.Config, nil), ruleDiffs(nil, &want)...)})
		},
		update: func(name string, it *item[ACL], obs ACL, own ownership) {
			want, patch := it.obj, &Patch{}
			diffs := pl.diffFields(obs.fields(), want.fields(), own, patch)
			if rd := ruleDiffs(&obs, &want); len(rd) > 0 {
				diffs = append(diffs, rd...)
				patch.Ingress, patch.Egress, patch.SetRules = want.Ingress, want.Egress, true
			}
			pl.update(Address{Kind: KindACL, Name: name}, it.sources, it.pos, own, diffs, patch, func(c *Change) { c.ACL = &obs })
		},
		prune: func(name string, obs ACL, own ownership) {
			pl.add(&Change{Addr: Address{Kind: KindACL, Name: name}, Action: Delete, ACL: &obs,
				Diffs: append(deletionDiffs(obs.Description, obs.Config, nil, own), ruleDiffs(&obs, nil)...)})
		},
	})
}

// ruleDiffs compares the rules of two ACLs (nil: none).
func ruleDiffs(obs, want *ACL) []KeyDiff {
	var o, w ACL
	if obs != nil {
		o = *obs
	}
	if want != nil {
		w = *want
	}
	return append(diffRules("egress", o.Egress, w.Egress), diffRules("ingress", o.Ingress, w.Ingress)...)
}

// aclUsers lists the users of an ACL that still use it once the plan is
// applied: a declared network, profile or node by its desired config and
// devices (a node through its profiles too), anything else as LXD lists it.
func (pl *planner) aclUsers(usedBy []Address, acl string, deleted map[Address]bool) []string {
	profileUses := func(name string) bool {
		if it, ok := pl.want.profiles[name]; ok {
			return usesACL(nil, it.obj.Devices, acl)
		}
		p, ok := pl.obs.profiles[name]
		return ok && usesACL(nil, p.Devices, acl)
	}
	var users []string
	for _, u := range usedBy {
		if deleted[u] {
			continue
		}
		still := true
		switch u.Kind {
		case KindNetwork:
			if it, ok := pl.want.networks[u.Name]; ok {
				still = usesACL(it.obj.Config, nil, acl)
			}
		case KindProfile:
			if _, ok := pl.want.profiles[u.Name]; ok {
				still = profileUses(u.Name)
			}
		case KindNode:
			if it, ok := pl.want.instances[u.Name]; ok {
				still = usesACL(nil, it.obj.Devices, acl) || slices.ContainsFunc(it.obj.Profiles, profileUses)
			}
		}
		if still {
			users = append(users, pl.describeUser(u))
		}
	}
	return users
}

// aclDependencies are the ACLs a network, profile or node change attaches
// (they are created first), from the object as it will be written.
func aclDependencies(c *Change, devices map[string]map[string]string) []Address {
	var names []string
	if c.Addr.Kind == KindNetwork && c.Network != nil {
		cfg := c.Network.Config
		if c.Patch != nil {
			cfg = patchConfig(cfg, c.Patch)
		}
		names = append(names, aclNames(cfg[ACLsKey])...)
	}
	for _, name := range slices.Sorted(maps.Keys(devices)) {
		names = append(names, deviceACLs(devices[name])...)
	}
	var out []Address
	for _, n := range names {
		a := Address{Kind: KindACL, Name: n}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

func patchACL(a ACL, p *Patch) ACL {
	p.patchFields(&a.Config, &a.Description, nil)
	if p.SetRules {
		a.Ingress, a.Egress = slices.Clone(p.Ingress), slices.Clone(p.Egress)
	}
	return a
}

func applyACL(ctx context.Context, r Remote, c *Change) error {
	w := writer[ACL]{r.CreateACL, r.GetACL, r.UpdateACL, r.DeleteACL, patchACL}
	return w.write(ctx, c, *c.ACL, c.ACL.Name)
}

// ACLs returns every ACL the observation listed.
func (o *Observation) ACLs() []ACL {
	return sortedValues(o.obs.acls, func(a ACL) string { return a.Name })
}

func aclDigest(a ACL) ObjectDigest {
	d := ObjectDigest{"description": hashValue(a.Description),
		"ingress": hashValue(normalizeRules(a.Ingress)), "egress": hashValue(normalizeRules(a.Egress))}
	addConfig(d, a.Config)
	return d
}

// missingACLs reports ACLs that declared networks, profiles and nodes
// attach but that neither exist on the remote nor are declared: LXD would
// refuse the write at apply, after the writes before it.
func (pl *planner) missingACLs() {
	if !pl.obs.read.acls {
		return // a --target plan that needs no ACLs did not list them
	}
	check := func(names []string, src []string, pos spec.Pos, what string) {
		for _, n := range names {
			if _, ok := pl.want.acls[n]; ok {
				continue
			}
			if _, ok := pl.obs.acls[n]; ok {
				continue
			}
			pl.problems = append(pl.problems, Problem{Addr: src[0], Pos: pos,
				Summary: fmt.Sprintf("%s names network ACL %q, which does not exist on remote %q", what, n, pl.plan.Remote),
				Detail:  "declare it with an acl block (and refer to it as acl.NAME.name), or create it in LXD first"})
		}
	}
	devices := func(devs map[string]map[string]string) []string {
		var out []string
		for _, name := range slices.Sorted(maps.Keys(devs)) {
			out = append(out, deviceACLs(devs[name])...)
		}
		return out
	}
	for _, name := range slices.Sorted(maps.Keys(pl.want.networks)) {
		it := pl.want.networks[name]
		check(aclNames(it.obj.Config[ACLsKey]), it.sources, it.pos, "network "+strconv.Quote(name))
	}
	for _, name := range slices.Sorted(maps.Keys(pl.want.profiles)) {
		it := pl.want.profiles[name]
		check(devices(it.obj.Devices), it.sources, it.pos, "profile "+strconv.Quote(name))
	}
	for _, name := range slices.Sorted(maps.Keys(pl.want.instances)) {
		it := pl.want.instances[name]
		check(devices(it.obj.Devices), it.sources, it.pos, "node "+strconv.Quote(name))
	}
}
