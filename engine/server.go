package engine

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// Which server a remote is. lxnetd speaks one API to LXD and to Incus (its
// fork); where the two differ in what lxnetd uses, the plan checks the
// server first and says what it does not support, instead of letting the
// server answer a write with a bare 400 (README "Servers").

// Server kinds, as GET /1.0 names them in environment.server.
const (
	ServerLXD   = "lxd"
	ServerIncus = "incus"
)

// ServerInfo is what a remote's server said about itself when lxnetd
// connected (GET /1.0). The zero value means unknown: nothing is checked.
type ServerInfo struct {
	Kind    string // environment.server: "lxd" or "incus"
	Version string // environment.server_version, e.g. "5.0.2", "6.0.4"
	Name    string // environment.server_name (host or cluster member name)
	// Extensions are the API extensions (api_extensions); nil when unknown.
	Extensions []string
	// InstanceTypes the server can run ("container", "virtual-machine");
	// nil when it did not say.
	InstanceTypes []string
}

// String is the kind and version for people: "LXD 5.0.2", "Incus 6.0.4".
func (s ServerInfo) String() string {
	kind := s.Kind
	switch kind {
	case ServerLXD:
		kind = "LXD"
	case ServerIncus:
		kind = "Incus"
	case "":
		return ""
	}
	return strings.TrimSpace(kind + " " + s.Version)
}

// HasExtension reports whether the server has API extension ext; true when
// the extensions are unknown (nothing to check against).
func (s ServerInfo) HasExtension(ext string) bool {
	return s.Extensions == nil || slices.Contains(s.Extensions, ext)
}

// ServerDescriber is implemented by remotes that know their server
// (internal/lxd's does). Observe records it; remotes without it are not
// checked.
type ServerDescriber interface {
	Server() ServerInfo
}

// serverOf returns r's ServerInfo, or the zero value.
func serverOf(r Remote) ServerInfo {
	if d, ok := r.(ServerDescriber); ok {
		return d.Server()
	}
	return ServerInfo{}
}

// serverProblems are the desired objects the remote's server cannot take,
// found before any write:
//
//   - forwards need API extension network_forward (LXD 5.0 and Incus have it);
//   - ACLs need network_acl (LXD 5.0 and Incus have it);
//   - virtual machines need a server that lists them in instance_types
//     (an Incus installed without QEMU, as incus-base is, runs containers
//     only);
//   - network types other than bridge and some tunnel keys need their API
//     extensions (serverext.go);
//   - Incus refuses a network forward and a proxy device that listen on the
//     same address ("overlaps with another network or NIC" / "conflicts
//     with existing network forward"); LXD 5.0 allows it.
func serverProblems(remote string, srv ServerInfo, d *desired) []Problem {
	if srv.Kind == "" {
		return nil
	}
	who := fmt.Sprintf("remote %q (%s)", remote, srv)
	var out []Problem
	if len(d.forwards) > 0 && !srv.HasExtension("network_forward") {
		for _, k := range sortedKeys(d.forwards) {
			it := d.forwards[k]
			out = append(out, Problem{Addr: firstSource(it.sources), Pos: it.pos,
				Summary: fmt.Sprintf("%s does not support network forwards (API extension network_forward)", who),
				Detail:  fmt.Sprintf("expose the port of %s with via = \"proxy\" or \"nat\" instead, or upgrade the server", k.Listen)})
		}
	}
	if len(d.acls) > 0 && !srv.HasExtension("network_acl") {
		for _, name := range sortedNames(d.acls) {
			it := d.acls[name]
			out = append(out, Problem{Addr: firstSource(it.sources), Pos: it.pos,
				Summary: fmt.Sprintf("%s does not support network ACLs (API extension network_acl)", who),
				Detail:  fmt.Sprintf("remove acl %q and its uses from this remote, or upgrade the server", name)})
		}
	}
	if len(srv.InstanceTypes) > 0 { // empty: the server named no driver lxnetd knows
		for _, name := range sortedNames(d.instances) {
			it := d.instances[name]
			typ := it.obj.Type
			if typ == "" {
				typ = "container"
			}
			if !slices.Contains(srv.InstanceTypes, typ) {
				out = append(out, Problem{Addr: firstSource(it.sources), Pos: it.pos,
					Summary: fmt.Sprintf("%s cannot run a %s (it runs: %s)", who, typ, strings.Join(srv.InstanceTypes, ", ")),
					Detail:  fmt.Sprintf("set type = %q on node %q, or put it on a remote that runs %ss", srv.InstanceTypes[0], name, typ)})
			}
		}
	}
	out = append(out, networkExtensionProblems(who, srv, d)...) // serverext.go
	if srv.Kind == ServerIncus {
		out = append(out, incusListenConflicts(who, d)...)
	}
	return out
}

// incusListenConflicts finds proxy devices (on nodes and profiles) whose
// listen address is also a network forward's listen address.
func incusListenConflicts(who string, d *desired) []Problem {
	forwards := map[netip.Addr]string{} // listen address -> forward's source
	for _, k := range sortedKeys(d.forwards) {
		if a, err := netip.ParseAddr(k.Listen); err == nil {
			forwards[a] = firstSource(d.forwards[k].sources)
		}
	}
	if len(forwards) == 0 {
		return nil
	}
	var out []Problem
	check := func(kind, name string, devices map[string]map[string]string, sources []string, pos spec.Pos) {
		for _, dev := range sortedNames(devices) {
			props := devices[dev]
			if props["type"] != "proxy" {
				continue
			}
			a, ok := proxyListenAddr(props["listen"])
			if !ok {
				continue
			}
			fwd, clash := forwards[a]
			if !clash {
				continue
			}
			src := firstSource(sources)
			if src == "" {
				src = kind + "." + name
			}
			out = append(out, Problem{Addr: src, Pos: pos,
				Summary: fmt.Sprintf("%s refuses proxy device %q of %s %q on %s: %s has a network forward on the same address", who, dev, kind, name, a, fwd),
				Detail:  "Incus does not let a network forward and a proxy device listen on one address (LXD does): give the proxy port another listen address, or expose it with via = \"forward\""})
		}
	}
	for _, name := range sortedNames(d.instances) {
		it := d.instances[name]
		check("node", name, it.obj.Devices, it.sources, it.pos)
	}
	for _, name := range sortedNames(d.profiles) {
		it := d.profiles[name]
		check("profile", name, it.obj.Devices, it.sources, it.pos)
	}
	return out
}

// proxyListenAddr is the address of a proxy device's listen value
// ("tcp:198.51.100.7:80", "udp:[2001:db8::1]:53-54"); false for unix
// sockets and wildcards (which Incus accepts beside forwards).
func proxyListenAddr(listen string) (netip.Addr, bool) {
	proto, rest, ok := strings.Cut(listen, ":")
	if !ok || (proto != "tcp" && proto != "udp") {
		return netip.Addr{}, false
	}
	i := strings.LastIndex(rest, ":")
	if i < 0 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(strings.Trim(rest[:i], "[]"))
	if err != nil || a.IsUnspecified() {
		return netip.Addr{}, false
	}
	return a, true
}

func firstSource(sources []string) string {
	if len(sources) == 0 {
		return ""
	}
	return sources[0]
}

func sortedKeys[V any](m map[fwdKey]V) []fwdKey {
	return slices.SortedFunc(maps.Keys(m), func(a, b fwdKey) int {
		return cmp.Or(strings.Compare(a.Network, b.Network), strings.Compare(a.Listen, b.Listen))
	})
}

func sortedNames[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
