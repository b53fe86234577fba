package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// PlanOptions narrow a plan.
type PlanOptions struct {
	// Targets keep only changes to objects compiled from these configuration
	// addresses ("node.web1", "service.api", "forward.floating",
	// "network.br0", "profile.web", "remote.vm1"). A target selects whole
	// LXD objects: "service.api" selects the nodes and forwards its ports are
	// compiled into, with all of their changes. Empty: everything.
	Targets []string
	// Replace names nodes to replace in this run even if nothing forces it
	// (lxnetd apply --replace, like Terraform's -replace): "node.web1",
	// `node.web["a"]`, or "node.web" for every instance of the block.
	Replace []string
}

// Observation is what one observation of a remote saw: the result of its
// bulk reads, from which any number of plans can be made without further
// requests (Plan is pure).
type Observation struct {
	remote string
	server ServerInfo // zero when the remote does not say (see ServerDescriber)
	obs    *observed
	// Requests is the number of LXD API requests the observation took.
	Requests int64
}

// Observe reads remote r with bulk list calls (see observe). It writes nothing.
func Observe(ctx context.Context, r Remote) (*Observation, error) {
	return ObserveFor(ctx, r, nil, nil)
}

// ObserveFor is Observe for a plan limited to targets (PlanOptions.Targets)
// against desired: it lists only the kinds of objects those targets need
// (see readsFor). Its plans must use the same targets.
func ObserveFor(ctx context.Context, r Remote, desired *spec.Remote, targets []string) (*Observation, error) {
	before := r.Requests()
	obs, err := observe(ctx, r, readsFor(r.Name(), desired, targets))
	if err != nil {
		return nil, fmt.Errorf("observing remote %q: %w", r.Name(), err)
	}
	return &Observation{remote: r.Name(), server: serverOf(r), obs: obs, Requests: r.Requests() - before}, nil
}

// ResolveImages lists the remote's images into the observation when a node
// of desired already exists on it (one request; see observeImages), so that
// Plan can tell whether a node's image changed: without it Plan never
// replaces a node for its image. Images listed once are kept until
// ForgetImages.
func (o *Observation) ResolveImages(ctx context.Context, r Remote, desired *spec.Remote) error {
	if o.obs.images != nil {
		return nil
	}
	before := r.Requests()
	err := observeImages(ctx, r, desired, o.obs)
	o.Requests += r.Requests() - before
	return err
}

// NewPlan observes remote r and plans what it takes to make it match
// desired: ObserveFor (the reads opts.Targets need), ResolveImages, then
// Observation.Plan.
func NewPlan(ctx context.Context, r Remote, desiredRemote *spec.Remote, s spec.Settings, opts PlanOptions) (*Plan, error) {
	o, err := ObserveFor(ctx, r, desiredRemote, opts.Targets)
	if err != nil {
		return nil, err
	}
	if err := o.ResolveImages(ctx, r, desiredRemote); err != nil {
		return nil, err
	}
	return o.Plan(desiredRemote, s, opts)
}

// Plan compares the observation with desired (nil: nothing declared) and
// returns what it takes to make the remote match. It does no I/O. A
// *PlanError lists every conflict between the configuration and what exists
// (e.g. an unowned object of a declared name).
func (o *Observation) Plan(desiredRemote *spec.Remote, s spec.Settings, opts PlanOptions) (*Plan, error) {
	owner := s.Owner
	if owner == "" {
		owner = spec.DefaultOwner
	}
	obs := o.obs
	p := &Plan{Remote: o.remote, Owner: owner, Requests: o.Requests, ForwardNetworks: len(obs.forwardNetworks), ImagesListed: obs.images != nil}
	if desiredRemote == nil {
		desiredRemote = &spec.Remote{Name: o.remote}
	}
	p.Server = o.server
	d := compile(desiredRemote, obs)
	pl := planner{plan: p, obs: obs, want: d, owner: owner, settings: s, opts: opts, problems: d.problems}
	pl.acls()
	pl.missingACLs()
	pl.networks()
	pl.profiles()
	pl.instances()
	pl.forwards()
	pl.problems = append(pl.problems, serverProblems(o.remote, o.server, d)...)
	// Targets first: a delete whose users --target leaves in place is a
	// blocker, not a write LXD would refuse.
	p.Changes = filterTargets(p.Changes, p.Remote, opts.Targets)
	pl.blockers()
	markSensitive(p, d, desiredRemote.Secrets)
	if len(pl.problems) > 0 {
		scrubProblems(pl.problems, p.Secrets)
		return nil, &PlanError{Remote: o.remote, Problems: pl.problems}
	}
	sortChanges(p.Changes)
	sort.Strings(p.Orphans)
	return p, nil
}

type planner struct {
	plan     *Plan
	obs      *observed
	want     *desired
	owner    string
	settings spec.Settings
	opts     PlanOptions
	problems []Problem
}

// add records a change with its diffs sorted by key, the order renderers
// show and tests compare.
func (pl *planner) add(c *Change) {
	sortDiffs(c.Diffs)
	pl.plan.Changes = append(pl.plan.Changes, c)
}

// update records the update of an existing object, when anything differs;
// observed points the change at the observed object, whose ETag makes the
// write conditional.
func (pl *planner) update(addr Address, sources []string, pos spec.Pos, own ownership, diffs []KeyDiff, patch *Patch, observed func(*Change)) {
	if len(diffs) == 0 {
		return
	}
	c := &Change{Addr: addr, Action: Update, Sources: sources, Pos: pos, Diffs: diffs, Patch: patch, Reason: adoptReason(own)}
	observed(c)
	pl.add(c)
}

// networks, profiles, instances and forwards each plan one kind: declared
// objects are created, updated (adopted ones included) or replaced; owned
// objects no longer declared are deleted (instances only with
// delete_instances). Conflicts become problems, not changes.
func (pl *planner) networks() {
	planKind(pl, kindPlan[Network]{kind: "network", declared: pl.want.networks, observed: pl.obs.networks,
		create: func(name string, it *item[Network]) { pl.createNetwork(name, it, Create, "", nil) },
		refuse: func(name string, it *item[Network], obs Network) bool {
			if !obs.Managed {
				pl.problems = append(pl.problems, Problem{Addr: it.sources[0], Pos: it.pos,
					Summary: fmt.Sprintf("network %q exists on remote %q as a host interface LXD does not manage", name, pl.plan.Remote),
					Detail:  "choose another name for the LXD network"})
			}
			return !obs.Managed
		},
		update: func(name string, it *item[Network], obs Network, own ownership) {
			want := it.obj
			if obs.Type != want.Type {
				pl.createNetwork(name, it, Replace, fmt.Sprintf("type changes from %q to %q, which LXD cannot change in place", obs.Type, want.Type), &obs.Type)
				return
			}
			patch := &Patch{}
			diffs := pl.diffFields(obs.fields(), want.fields(), own, patch)
			pl.update(Address{Kind: KindNetwork, Name: name}, it.sources, it.pos, own, diffs, patch, func(c *Change) { c.Network = &obs })
		},
		prune: func(name string, obs Network, own ownership) {
			pl.add(&Change{Addr: Address{Kind: KindNetwork, Name: name}, Action: Delete, Network: &obs,
				Diffs: deletionDiffs(obs.Description, obs.Config, nil, own)})
		},
	})
}

// createNetwork records the creation of a declared network, or (action
// Replace) its re-creation with a new type (oldType).
func (pl *planner) createNetwork(name string, it *item[Network], action Action, reason string, oldType *string) {
	want := it.obj
	want.Config = withTags(want.Config, pl.owner, nil)
	pl.add(&Change{Addr: Address{Kind: KindNetwork, Name: name}, Action: action, Sources: it.sources, Pos: it.pos, Reason: reason, Network: &want,
		Diffs: append(creationDiffs(want.Description, want.Config, nil), KeyDiff{Key: "type", Before: oldType, After: &want.Type})})
}

func (pl *planner) profiles() {
	planKind(pl, kindPlan[Profile]{kind: "profile", declared: pl.want.profiles, observed: pl.obs.profiles,
		create: func(name string, it *item[Profile]) {
			want := it.obj
			want.Config = withTags(want.Config, pl.owner, want.Devices)
			pl.add(&Change{Addr: Address{Kind: KindProfile, Name: name}, Action: Create, Sources: it.sources, Pos: it.pos, Profile: &want,
				Diffs: creationDiffs(want.Description, want.Config, want.Devices)})
		},
		update: func(name string, it *item[Profile], obs Profile, own ownership) {
			patch := &Patch{}
			diffs := pl.diffFields(obs.fields(), it.obj.fields(), own, patch)
			pl.update(Address{Kind: KindProfile, Name: name}, it.sources, it.pos, own, diffs, patch, func(c *Change) { c.Profile = &obs })
		},
		prune: func(name string, obs Profile, own ownership) {
			pl.add(&Change{Addr: Address{Kind: KindProfile, Name: name}, Action: Delete, Profile: &obs,
				Diffs: deletionDiffs(obs.Description, obs.Config, obs.Devices, own)})
		},
	})
}

// instanceState maps LXD's status to the configuration's state.
func instanceState(status string) string {
	switch status {
	case "Running":
		return "running"
	case "Stopped":
		return "stopped"
	default:
		return strings.ToLower(status)
	}
}

func (pl *planner) instances() {
	planKind(pl, kindPlan[Instance]{kind: "node", declared: pl.want.instances, observed: pl.obs.instances,
		create: func(name string, it *item[Instance]) { pl.createInstance(name, it, Create, "", nil) },
		update: func(name string, it *item[Instance], obs Instance, own ownership) {
			// Keys LXD cannot change in place replace the instance, or block
			// (see replace.go).
			forced := pl.forcedKeys(it.obj, obs)
			if pl.replacement(it, forced) {
				pl.createInstance(name, it, Replace, replaceReason(forced), forced)
				return
			}
			want, patch := keepForced(it.obj, obs, forced), &Patch{}
			diffs := pl.diffFields(obs.fields(), want.fields(), own, patch)
			if !slices.Equal(obs.Profiles, want.Profiles) {
				b, a := profilesString(obs.Profiles), profilesString(want.Profiles)
				diffs = append(diffs, KeyDiff{Key: "profiles", Before: &b, After: &a})
				patch.Profiles = want.Profiles
			}
			if st := instanceState(obs.Status); st != it.state {
				diffs = append(diffs, KeyDiff{Key: "state", Before: &st, After: &it.state})
				patch.State = it.state
			}
			pl.update(Address{Kind: KindNode, Name: name}, it.sources, it.pos, own, diffs, patch, func(c *Change) { c.Instance = &obs })
		},
		prune: func(name string, obs Instance, own ownership) {
			addr := Address{Kind: KindNode, Name: name}
			if !pl.settings.DeleteInstances {
				pl.plan.Orphans = append(pl.plan.Orphans, addr.String())
				return
			}
			pl.add(&Change{Addr: addr, Action: Delete, Instance: &obs, Diffs: deletionDiffs(obs.Description, obs.Config, obs.Devices, own)})
		},
	})
}

// createInstance records the creation of a declared node, or (action
// Replace) its re-creation for the keys forced lists.
func (pl *planner) createInstance(name string, it *item[Instance], action Action, reason string, forced []KeyDiff) {
	want := it.obj
	want.Config = withTags(want.Config, pl.owner, want.Devices)
	c := &Change{Addr: Address{Kind: KindNode, Name: name}, Action: action, Sources: it.sources, Pos: it.pos, Reason: reason, Instance: &want, Patch: &Patch{State: it.state}}
	c.Diffs = creationDiffs(want.Description, want.Config, want.Devices)
	profiles, state := profilesString(want.Profiles), it.state
	c.Diffs = append(c.Diffs,
		KeyDiff{Key: "image", After: &want.Image},
		KeyDiff{Key: "profiles", After: &profiles},
		KeyDiff{Key: "state", After: &state},
		KeyDiff{Key: "type", After: &want.Type})
	if want.Location != "" {
		c.Diffs = append(c.Diffs, KeyDiff{Key: "target", After: &want.Location})
	}
	c.Diffs = withForced(c.Diffs, forced)
	pl.add(c)
}

func (pl *planner) forwards() {
	keys := slices.SortedFunc(maps.Keys(pl.want.forwards), func(a, b fwdKey) int {
		return strings.Compare(a.Network+"/"+a.Listen, b.Network+"/"+b.Listen)
	})
	matched := map[fwdKey]bool{} // observed forwards a declared one describes
	for _, k := range keys {
		it := pl.want.forwards[k]
		want := it.obj
		sortPorts(want.Ports)
		_, netDeclared := pl.want.networks[k.Network]
		if !pl.obs.forwardNetworks[k.Network] && !netDeclared {
			pl.problems = append(pl.problems, Problem{Addr: it.sources[0], Pos: it.pos,
				Summary: fmt.Sprintf("network %q for the forward on %s is not a managed bridge on remote %q", k.Network, k.Listen, pl.plan.Remote),
				Detail:  "declare the network, or create it in LXD first"})
			continue
		}
		ok, obs, exists, moved := pl.observedForward(k, want.Location)
		matched[ok] = exists
		if !exists || moved {
			pl.createForward(it, want, obs, moved)
			continue
		}
		own, claimed := claim(pl, "forward", k.Network+"/"+k.Listen, obs.Config, it)
		if !claimed {
			continue
		}
		patch := &Patch{}
		diffs := diffConfig(obs.Config, want.Config, own, pl.owner, nil, false, patch)
		diffs = append(diffs, diffDescription(obs.Description, want.Description, patch)...)
		if pd := diffPorts(obs.Ports, want.Ports); len(pd) > 0 {
			diffs = append(diffs, pd...)
			patch.Ports, patch.SetPorts = want.Ports, true
		}
		pl.update(ok.address(), it.sources, it.pos, own, diffs, patch, func(c *Change) { c.Forward = &obs })
	}
	for k, obs := range pl.obs.forwards {
		own := ownershipOf(obs.Config, pl.owner)
		if matched[k] || !own.owned {
			continue
		}
		pl.plan.Owned++
		o := obs
		pl.add(&Change{Addr: k.address(), Action: Delete, Forward: &o,
			Diffs: append(deletionDiffs(obs.Description, obs.Config, nil, own), diffPorts(obs.Ports, nil)...)})
	}
}

// blockers removes deletes of networks and profiles that something staying
// in place still uses, and reports them.
func (pl *planner) blockers() {
	deleted := map[Address]bool{}
	for _, c := range pl.plan.Changes {
		if c.Action == Delete {
			deleted[c.Addr] = true
		}
	}
	kept := pl.plan.Changes[:0]
	for _, c := range pl.plan.Changes {
		var users []string
		var usedBy []Address
		switch {
		case c.Action == Delete && c.Addr.Kind == KindNetwork:
			usedBy = c.Network.UsedBy
			users = pl.networkUsers(usedBy, c.Addr.Name, deleted)
		case c.Action == Replace && c.Addr.Kind == KindNetwork:
			usedBy = pl.obs.networks[c.Addr.Name].UsedBy
			users = pl.networkUsers(usedBy, "", deleted)
		case c.Action == Delete && c.Addr.Kind == KindProfile:
			usedBy = c.Profile.UsedBy
			users = pl.profileUsers(usedBy, c.Addr.Name, deleted)
		case c.Action == Delete && c.Addr.Kind == KindACL:
			usedBy = c.ACL.UsedBy
			users = pl.aclUsers(usedBy, c.Addr.Name, deleted)
		}
		if len(users) > 0 {
			if pl.plan.BlockedBy == nil {
				pl.plan.BlockedBy = map[Address][]Address{}
			}
			pl.plan.BlockedBy[c.Addr] = usedBy
			pl.plan.Blockers = append(pl.plan.Blockers, fmt.Sprintf("%s is not %sd: still used by %s", c.Addr, c.Action, strings.Join(users, ", ")))
			continue
		}
		kept = append(kept, c)
	}
	pl.plan.Changes = kept
}

// networkUsers lists the users of a network that stay after the plan. network
// is "" for a replace (every user blocks it).
func (pl *planner) networkUsers(usedBy []Address, network string, deleted map[Address]bool) []string {
	var users []string
	for _, u := range usedBy {
		if deleted[u] {
			continue
		}
		if network != "" && !pl.stillUsesNetwork(u, network) {
			continue
		}
		users = append(users, pl.describeUser(u))
	}
	return users
}

func (pl *planner) profileUsers(usedBy []Address, profile string, deleted map[Address]bool) []string {
	var users []string
	for _, u := range usedBy {
		if deleted[u] {
			continue
		}
		if it, ok := pl.want.instances[u.Name]; ok && u.Kind == KindNode && !slices.Contains(it.obj.Profiles, profile) {
			continue
		}
		users = append(users, pl.describeUser(u))
	}
	return users
}

// stillUsesNetwork reports whether a user of a network keeps using it once
// the plan is applied: declared objects by their desired devices (and a
// node's desired profiles), everything else as observed.
func (pl *planner) stillUsesNetwork(u Address, network string) bool {
	uses := func(devs map[string]map[string]string) bool { return UsesNetwork(devs, network) }
	profileUses := func(name string) bool {
		if it, ok := pl.want.profiles[name]; ok {
			return uses(it.obj.Devices)
		}
		return uses(pl.obs.profiles[name].Devices)
	}
	switch u.Kind {
	case KindNode:
		it, ok := pl.want.instances[u.Name]
		if !ok {
			return true
		}
		if uses(it.obj.Devices) {
			return true
		}
		for _, p := range it.obj.Profiles {
			if profileUses(p) {
				return true
			}
		}
		return false
	case KindProfile:
		return profileUses(u.Name)
	}
	return true
}

// describeUser names a user that blocks a delete, and says why lxnetd
// does not delete it along.
func (pl *planner) describeUser(u Address) string {
	switch u.Kind {
	case KindNode:
		inst, ok := pl.obs.instances[u.Name]
		switch {
		case ok && ownershipOf(inst.Config, pl.owner).owned:
			if _, declared := pl.want.instances[u.Name]; !declared {
				return fmt.Sprintf("instance %q (orphaned; set delete_instances = true to delete it)", u.Name)
			}
			return fmt.Sprintf("instance %q", u.Name)
		default:
			return fmt.Sprintf("instance %q, which lxnetd does not manage", u.Name)
		}
	default:
		return fmt.Sprintf("%s %q", u.Kind, u.Name)
	}
}

// withTags returns cfg plus the ownership tags of a new object: the owner,
// the config keys it sets and the names of its devices (nil for networks
// and forwards, which have none), so that later plans change and delete
// only what lxnetd wrote.
func withTags(cfg map[string]string, owner string, devices map[string]map[string]string) map[string]string {
	out := maps.Clone(cfg)
	if out == nil {
		out = map[string]string{}
	}
	out[TagOwner] = owner
	if keys := joinList(slices.Collect(maps.Keys(cfg))); keys != "" {
		out[TagKeys] = keys
	}
	if names := joinList(slices.Collect(maps.Keys(devices))); names != "" {
		out[TagDevices] = names
	}
	return out
}

// adoptReason is the Reason of an update of an object the owner does not
// tag yet: the first write of an adoption.
func adoptReason(own ownership) string {
	if own.owned {
		return ""
	}
	return "adopting an existing object (adopt = true)"
}

// filterTargets keeps the changes selected by --target expressions.
func filterTargets(changes []*Change, remote string, targets []string) []*Change {
	if len(targets) == 0 {
		return changes
	}
	var out []*Change
	for _, c := range changes {
		if selected(c, remote, targets) {
			out = append(out, c)
		}
	}
	return out
}

// selected reports whether a --target selects c: by its remote, its own
// address, or any configuration address it is compiled from.
func selected(c *Change, remote string, targets []string) bool {
	for _, t := range targets {
		if t == "remote."+remote || matchTarget(t, c.Addr.String()) {
			return true
		}
		for _, s := range c.Sources {
			if matchTarget(t, s) {
				return true
			}
		}
	}
	return false
}

// sortChanges puts creates, updates and replaces in kind order (networks,
// profiles, nodes, forwards) and deletes after them in reverse kind order.
func sortChanges(cs []*Change) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		ad, bd := a.Action == Delete, b.Action == Delete
		if ad != bd {
			return bd
		}
		if ad && a.Addr.Kind != b.Addr.Kind {
			return a.Addr.Kind.order() > b.Addr.Kind.order()
		}
		return a.Addr.Less(b.Addr)
	})
}
