package config

import (
	"fmt"
	"sort"

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
				if nw := networks[x.remote+"/"+x.spec.Network]; nw != nil && nw.Type != "bridge" && nw.Type != "ovn" {
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
	l.checkListeners()
	cfg.Hash = l.hashSum()
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
					l.errorf(cur.rng, "Port exposed twice",
						"%s port %d on %s is already exposed by %s (%s)%s. Each address and port can be used once per remote and protocol; choose another port or address.", cur.proto, p, cur.addr, prev.what, prev.rng, l.onRemote(cur.remote))
				}
				byPort[k] = append(byPort[k], cur)
			}
		}
	}
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
