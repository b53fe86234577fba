package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Listen-address clashes. Each remote has one set of host addresses —
// except an LXD cluster, where each member is its own host: a proxy device
// listens on the member its node runs on (127.0.0.1 there is that member's
// loopback), and a forward is on one member. Listeners whose members are
// both known (nodes placed with target; forwards placed by target or by
// their nodes) and differ never clash; a listener whose member is not
// known (a node LXD places) may end up anywhere, so it clashes as on a
// single host.

// checkListeners reports a port exposed twice on one address (per remote,
// cluster member where known, and protocol; 0.0.0.0 and :: overlap every
// address of their family), once per clash whatever the number of
// listeners in it, and a forward listen address used on two networks of
// one remote.
func (l *loader) checkListeners() {
	netOf := map[string]*listener{} // remote/addr -> first forward listener
	for _, cur := range l.listeners {
		if cur.network == "" {
			continue
		}
		k := cur.remote + "/" + cur.addr.String()
		prev, ok := netOf[k]
		switch {
		case ok && prev.network != cur.network:
			l.errorf(cur.rng, "Listen address on two networks",
				"%s listens on %s through network %q, but %s (%s) uses the same address on network %q. A forward listen address belongs to one network; use one network or another address.", cur.what, cur.addr, cur.network, prev.what, prev.rng, prev.network)
		case ok && prev.member != "" && cur.member != "" && prev.member != cur.member:
			// lxnetd keeps one forward per network and listen address.
			l.errorf(cur.rng, "Listen address on two cluster members",
				"%s listens on %s on cluster member %q, but %s (%s) puts the same address on %q. lxnetd places a forward listen address on one member; use another address for the other member.", cur.what, cur.addr, cur.member, prev.what, prev.rng, prev.member)
		case !ok:
			netOf[k] = cur
		}
	}
	for _, c := range l.clashes() {
		l.reportClash(c)
	}
}

// clash is a set of listeners that overlap on some ports, directly or
// through one another (0.0.0.0:80 joins 10.0.0.1:80 and 10.0.0.2:80).
type clash struct {
	listeners []*listener // in declaration order
	port      int         // the first port they clash on
}

// clashes groups the overlapping listeners, in the order their clashes are
// found.
func (l *loader) clashes() []*clash {
	type portKey struct {
		remote, proto string
		port          int
	}
	byPort := map[portKey][]*listener{}
	groupOf := map[*listener]*clash{}
	var out []*clash
	join := func(prev, cur *listener, port int) {
		g, h := groupOf[prev], groupOf[cur]
		switch {
		case g == nil && h == nil:
			g = &clash{listeners: []*listener{prev, cur}, port: port}
			out = append(out, g)
		case g == nil:
			g = h
			g.listeners = append(g.listeners, prev)
		case h == nil:
			g.listeners = append(g.listeners, cur)
		case g != h:
			g.listeners = append(g.listeners, h.listeners...)
			g.port = min(g.port, h.port)
			for _, x := range h.listeners {
				groupOf[x] = g
			}
			out = slices.DeleteFunc(out, func(c *clash) bool { return c == h })
		}
		groupOf[prev], groupOf[cur] = g, g
	}
	for _, cur := range l.listeners {
		for _, r := range cur.ports {
			for p := r.lo; p <= r.hi; p++ {
				k := portKey{cur.remote, cur.proto, p}
				for _, prev := range byPort[k] {
					if overlaps(prev, cur) {
						join(prev, cur, p)
					}
				}
				byPort[k] = append(byPort[k], cur)
			}
		}
	}
	order := map[*listener]int{}
	for i, x := range l.listeners {
		order[x] = i
	}
	for _, c := range out {
		slices.SortFunc(c.listeners, func(a, b *listener) int { return order[a] - order[b] })
		c.listeners = slices.Compact(c.listeners)
	}
	return out
}

// reportClash reports one clash, at the second listener (the first that
// clashes with an earlier one).
func (l *loader) reportClash(c *clash) {
	first, cur := c.listeners[0], c.listeners[1]
	onePort := cur.port != ""
	var nodes []string
	for _, x := range c.listeners {
		onePort = onePort && x.port == cur.port
		nodes = append(nodes, x.node)
	}
	if onePort {
		// One port block of a service with nodes = [...]: the nodes
		// share its listen address.
		to := "both " + nodes[0] + " and " + nodes[1]
		if len(nodes) > 2 {
			to = andList(nodes)
		}
		l.errorf(cur.rng, "Port exposed twice",
			"%s exposes %s port %d on %s to %s%s, but one address and port lead to one target.%s nodes = [...] suits nodes on different remotes, or on different cluster members (each node placed with target); for nodes on one host give each node its own service and listen address%s.", cur.port, cur.proto, c.port, cur.addr, to, l.onRemote(cur.remote), unplaced(c), perNodeServiceHint(first.nodeInst, cur.nodeInst))
		return
	}
	if len(c.listeners) == 2 {
		l.errorf(cur.rng, "Port exposed twice",
			"%s port %d on %s is already exposed by %s (%s)%s.%s Each address and port can be used once per remote and protocol (per cluster member, for nodes placed with target); choose another port or address.", cur.proto, c.port, cur.addr, first.what, first.rng, l.onRemote(cur.remote), unplaced(c))
		return
	}
	var by []string
	for _, x := range c.listeners {
		by = append(by, fmt.Sprintf("%s at %s (%s)", x.what, x.addr, x.rng))
	}
	l.errorf(cur.rng, "Port exposed twice",
		"%s port %d is exposed %d times%s: by %s.%s Each address and port can be used once per remote and protocol (per cluster member, for nodes placed with target); choose another port or address.", cur.proto, c.port, len(c.listeners), l.onRemote(cur.remote), andList(by), unplaced(c))
}

// unplaced names, in a clash of listeners some of which are on known
// cluster members, the nodes and forwards that are not: they are why
// listeners on different members clash.
func unplaced(c *clash) string {
	var free []string
	placed := false
	for _, x := range c.listeners {
		name := x.node
		if name == "" {
			name = x.what
		}
		if x.member == "" {
			free = append(free, name)
		} else {
			placed = true
		}
	}
	if !placed || len(free) == 0 {
		return ""
	}
	verb := "has no target, so it"
	if len(free) > 1 {
		verb = "have no target, so they"
	}
	return fmt.Sprintf(" %s %s may run on the same cluster member as the others.", andList(free), verb)
}

// andList joins "a", "b" and "c" as "a, b and c".
func andList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
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

// overlaps reports whether two listeners share an address: the same one,
// or a wildcard of the other's family, on the same host (cluster members
// known to differ are different hosts).
func overlaps(a, b *listener) bool {
	if a.member != "" && b.member != "" && a.member != b.member {
		return false
	}
	if a.addr == b.addr {
		return true
	}
	if a.addr.Is4() != b.addr.Is4() {
		return false
	}
	return a.addr.IsUnspecified() || b.addr.IsUnspecified()
}

// placement is the cluster member a forward block is on, and what put it
// there: its target attribute (rng), or else the first port aimed at a node
// placed with target (node).
type placement struct {
	member string
	rng    *hcl.Attribute
	node   string
}

// place checks a forward port's target node (lst.node, on member
// lst.member when it has a target) against the forward's placement, and
// places an unplaced forward on it. A forward is on one member and reaches
// only that member's bridge, so a port aimed at a node on another member
// is an error: against an explicit target, which wins, or against the node
// of an earlier port.
func (l *loader) place(pl *placement, lst *listener, tRng *hcl.Range) bool {
	switch {
	case lst.member == "" || lst.member == pl.member:
		return true
	case pl.rng != nil && pl.member != "":
		l.errorf(tRng, "Forward target on another cluster member",
			"%s runs on cluster member %q (its target), but this forward is on %q (target, %s). A forward reaches only the nodes of its own member: point the port at a node on %q, or remove the forward's target to place it with its nodes.", lst.node, lst.member, pl.member, pl.rng.Expr.Range(), pl.member)
		return false
	case pl.node != "":
		l.errorf(tRng, "Forward ports on different cluster members",
			"%s runs on cluster member %q, but %s, the target of an earlier port, runs on %q. A forward is on one member and reaches only that member's nodes: use a forward (with its own listen address) per member.", lst.node, lst.member, pl.node, pl.member)
		return false
	}
	pl.member, pl.node = lst.member, lst.node
	return true
}
