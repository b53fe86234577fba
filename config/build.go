package config

import (
	"fmt"
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

// checkListeners reports a port exposed twice on one address (per remote and
// protocol; 0.0.0.0 and :: overlap every address of their family) and a
// forward listen address used on two networks of one remote.
func (l *loader) checkListeners() {
	type portKey struct {
		remote, proto string
		port          int
	}
	byPort := map[portKey][]*listener{}
	reported := map[[2]*listener]bool{}
	netOf := map[string]*listener{} // remote/addr -> first forward listener
	for _, cur := range l.listeners {
		if cur.network != "" {
			k := cur.remote + "/" + cur.addr.String()
			if prev, ok := netOf[k]; ok && prev.network != cur.network {
				l.errorf(cur.rng, "Listen address on two networks",
					"%s listens on %s through network %q, but %s (%s) uses the same address on network %q. A forward listen address belongs to one network; use one network or another address.", cur.what, cur.addr, cur.network, prev.what, prev.rng, prev.network)
			} else if !ok {
				netOf[k] = cur
			}
		}
		for _, r := range cur.ports {
			for p := r.lo; p <= r.hi; p++ {
				k := portKey{cur.remote, cur.proto, p}
				for _, prev := range byPort[k] {
					if !overlaps(prev, cur) || reported[[2]*listener{prev, cur}] {
						continue
					}
					reported[[2]*listener{prev, cur}] = true
					if prev.port != "" && prev.port == cur.port {
						// One port block of a service with nodes = [...]: the
						// nodes share its listen address.
						l.errorf(cur.rng, "Port exposed twice",
							"%s exposes %s port %d on %s to both %s and %s%s, but one address and port lead to one target. nodes = [...] suits nodes on different remotes; for nodes on one remote give each node its own service and listen address%s.", cur.port, cur.proto, p, cur.addr, prev.node, cur.node, l.onRemote(cur.remote), perNodeServiceHint(prev.nodeInst, cur.nodeInst))
						continue
					}
					l.errorf(cur.rng, "Port exposed twice",
						"%s port %d on %s is already exposed by %s (%s)%s. Each address and port can be used once per remote and protocol; choose another port or address.", cur.proto, p, cur.addr, prev.what, prev.rng, l.onRemote(cur.remote))
				}
				byPort[k] = append(byPort[k], cur)
			}
		}
	}
}

// perNodeServiceHint says how to write one service per node when both nodes
// are instances of one node block: for_each over a for_each block's map,
// count over a count block's list (for_each = node.NAME would not work on
// a list). For nodes of different blocks it says nothing more.
func perNodeServiceHint(a, b *instance) string {
	if a == nil || b == nil || a.d != b.d {
		return ""
	}
	name := a.d.name
	switch {
	case a.d.content.Attributes["for_each"] != nil:
		return fmt.Sprintf(" (for_each = node.%s with node = each.value)", name)
	case a.d.content.Attributes["count"] != nil:
		return fmt.Sprintf(" (count = length(node.%s) with node = node.%s[count.index])", name, name)
	}
	return ""
}

func (l *loader) onRemote(remote string) string {
	if len(l.byKind[kindRemote]) <= 1 {
		return ""
	}
	return fmt.Sprintf(" on remote %q", remote)
}

func overlaps(a, b *listener) bool {
	if a.addr == b.addr {
		return true
	}
	if a.addr.Is4() != b.addr.Is4() {
		return false
	}
	return a.addr.IsUnspecified() || b.addr.IsUnspecified()
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
