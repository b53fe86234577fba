package config

import (
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// build checks what spans several objects (names unique per remote, every
// listen address and port used once) and assembles the desired state.
func (l *loader) build() *spec.Config {
	cfg := &spec.Config{Settings: l.settings, Remotes: map[string]*spec.Remote{}}
	if len(l.byKind[kindRemote]) == 0 {
		cfg.Remotes["local"] = &spec.Remote{Name: "local", Address: "unix://", Project: "default"}
	}
	sort.SliceStable(l.remotes, func(i, j int) bool { return l.remotes[i].d.index < l.remotes[j].d.index })
	for _, r := range l.remotes {
		rs := r.spec
		cfg.Remotes[rs.Name] = &rs
	}
	byOrder := func(a, b *instance) bool {
		if a.d.index != b.d.index {
			return a.d.index < b.d.index
		}
		return a.ord < b.ord
	}
	sort.SliceStable(l.networks, func(i, j int) bool { return byOrder(l.networks[i].inst, l.networks[j].inst) })
	sort.SliceStable(l.profiles, func(i, j int) bool { return byOrder(l.profiles[i].inst, l.profiles[j].inst) })
	sort.SliceStable(l.nodes, func(i, j int) bool { return byOrder(l.nodes[i].inst, l.nodes[j].inst) })
	sort.SliceStable(l.services, func(i, j int) bool { return byOrder(l.services[i].inst, l.services[j].inst) })
	sort.SliceStable(l.forwards, func(i, j int) bool { return byOrder(l.forwards[i].inst, l.forwards[j].inst) })

	type seenAt struct {
		addr string
		rng  *hcl.Range
	}
	dup := func(what string, seen map[string]seenAt, remote, name, addr string, rng *hcl.Range) bool {
		k := remote + "\x00" + name
		if prev, ok := seen[k]; ok {
			l.errorf(rng, "Duplicate "+what+" name",
				"%s would create %s %q on remote %q, which %s (%s) already declares. Names must be unique per remote; set a different name.", addr, what, name, remote, prev.addr, prev.rng)
			return true
		}
		seen[k] = seenAt{addr, rng}
		return false
	}
	remote := func(name string) *spec.Remote { return cfg.Remotes[name] }

	seen := map[string]seenAt{}
	networks := map[string]*spec.Network{} // remote/name -> declared network
	for _, n := range l.networks {
		if dup("network", seen, n.remote, n.spec.Name, n.inst.addr, n.nameRange) {
			continue
		}
		if r := remote(n.remote); r != nil {
			r.Networks = append(r.Networks, n.spec)
			networks[n.remote+"/"+n.spec.Name] = &r.Networks[len(r.Networks)-1]
		}
	}
	seen = map[string]seenAt{}
	for _, p := range l.profiles {
		if !dup("profile", seen, p.remote, p.spec.Name, p.inst.addr, p.nameRange) {
			if r := remote(p.remote); r != nil {
				r.Profiles = append(r.Profiles, p.spec)
			}
		}
	}
	l.checkNodeRemotes()
	seen = map[string]seenAt{}
	for _, n := range l.nodes {
		if !dup("instance", seen, n.remote, n.spec.Name, n.inst.addr, n.nameRange) {
			if r := remote(n.remote); r != nil {
				r.Instances = append(r.Instances, n.spec)
			}
		}
	}
	seen = map[string]seenAt{}
	for _, s := range l.services {
		if dup("service", seen, "", s.name, s.inst.addr, s.nameRange) {
			continue
		}
		for _, x := range s.exposures {
			if x.spec.Via == spec.ViaForward {
				if nw := networks[x.remote+"/"+x.spec.Network]; nw != nil && !spec.ForwardCapable(nw.Type) {
					l.errorf(x.nodeRng, "Network cannot forward",
						"%s exposes %s with via = \"forward\", but its network %q is a %s network; LXD network forwards exist only on bridge and ovn networks. Use via = \"proxy\" or \"nat\".", s.inst.addr, x.spec.Instance, nw.Name, nw.Type)
					continue
				}
			}
			if r := remote(x.remote); r != nil {
				r.Exposures = append(r.Exposures, x.spec)
			}
		}
	}
	for _, f := range l.forwards {
		if r := remote(f.remote); r != nil {
			r.Forwards = append(r.Forwards, f.spec)
		}
	}
	sort.SliceStable(l.acls, func(i, j int) bool { return byOrder(l.acls[i].inst, l.acls[j].inst) })
	l.buildACLs(cfg)
	l.checkListeners()
	l.checkAddresses()
	cfg.Hash = l.hashSum()
	cfg.Secrets = l.secretList()
	for _, r := range cfg.Remotes {
		r.Secrets = cfg.Secrets
	}
	if l.diags.HasErrors() {
		return nil
	}
	return cfg
}

// checkNodeRemotes reports a node that refers to a network or profile block
// (network.x.name, profile.x.name) declared only on other remotes: LXD would
// fail at apply time, typically after a node was moved to another remote.
// Plain name strings are not checked: they may name objects lxnetd does not
// manage.
func (l *loader) checkNodeRemotes() {
	type declRemotes map[string]map[string]bool // decl key -> remote -> LXD names
	names := func(kind string) declRemotes {
		out := declRemotes{}
		add := func(d *decl, remote, name string) {
			if out[d.key] == nil {
				out[d.key] = map[string]bool{}
			}
			out[d.key][remote+"/"+name] = true
			out[d.key]["*/"+name] = true
		}
		if kind == kindNetwork {
			for _, n := range l.networks {
				add(n.inst.d, n.remote, n.spec.Name)
			}
		} else {
			for _, p := range l.profiles {
				add(p.inst.d, p.remote, p.spec.Name)
			}
		}
		return out
	}
	networks, profiles := names(kindNetwork), names(kindProfile)
	// check says whether name, used by a node on remote through an
	// expression referring to the given declarations, is declared there.
	check := func(kind string, declared declRemotes, expr hcl.Expression, node *nodeResult, name string, rng *hcl.Range) {
		for _, tr := range expr.Variables() {
			if tr.RootName() != kind || len(tr) < 2 {
				continue
			}
			step, ok := tr[1].(hcl.TraverseAttr)
			if !ok {
				continue
			}
			key := kind + "." + step.Name
			set := declared[key]
			if !set["*/"+name] || set[node.remote+"/"+name] {
				continue // not this declaration's object, or declared on the node's remote
			}
			var elsewhere []string
			for k := range set {
				if r, n, _ := strings.Cut(k, "/"); r != "*" && n == name {
					elsewhere = append(elsewhere, r)
				}
			}
			sort.Strings(elsewhere)
			l.errorf(rng, strings.ToUpper(kind[:1])+kind[1:]+" on another remote",
				"%s is on remote %q, but %s %q (%s) is declared only on remote %s. Declare it on %q too (for example with for_each over the remotes), or keep the node on the remote that has it.",
				node.inst.addr, node.remote, kind, name, key, listAll(elsewhere), node.remote)
			return
		}
	}
	for _, n := range l.nodes {
		for _, nb := range n.inst.d.nested {
			a := nb.content.Attributes["properties"]
			dev := n.spec.Devices[nb.block.Labels[0]]
			if a == nil || dev["type"] != "nic" || dev["network"] == "" {
				continue
			}
			check(kindNetwork, networks, a.Expr, n, dev["network"], valueRange(a, n.inst.ctx, "network"))
		}
		if a := n.inst.d.content.Attributes["profiles"]; a != nil {
			for _, p := range n.spec.Profiles {
				check(kindProfile, profiles, a.Expr, n, p, a.Expr.Range().Ptr())
			}
		}
	}
}
