package engine

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// desired is a remote's configuration compiled to LXD objects: services
// become forward ports or proxy devices, forwards sharing a listen address
// are merged into one.
type desired struct {
	networks  map[string]*item[Network]
	profiles  map[string]*item[Profile]
	instances map[string]*item[Instance]
	forwards  map[fwdKey]*item[Forward]
	acls      map[string]*item[ACL]
	problems  []Problem
}

// item is a desired object with where it came from.
type item[T any] struct {
	obj     T
	sources []string
	pos     spec.Pos
	adopt   bool
	state   string // instances: "running" or "stopped"
	// sensitive are the diff keys whose values derive from sensitive
	// variables (sensitive.go).
	sensitive map[string]bool
	// forwards: port positions by key, to name duplicates
	portSrc map[portKey]string
	// forwards: the block that placed it on its cluster member (forwardmember.go)
	placedBy string
}

// addSource records one more configuration address the object is compiled
// from (a forward gathers ports of several blocks), once each.
func (it *item[T]) addSource(s string) {
	if !slices.Contains(it.sources, s) {
		it.sources = append(it.sources, s)
	}
}

// ProxyDeviceName is the name of the proxy device lxnetd puts on a node for
// one port of a service: deterministic, so plans are stable.
func ProxyDeviceName(service, port string) string {
	return "lxnetd-" + service + "-" + port
}

// cleanConfig drops empty values (LXD treats them as unset) and keys lxnetd
// never declares.
func cleanConfig(in map[string]string) map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		if v != "" && managedKey(k) {
			out[k] = v
		}
	}
	return out
}

func cleanDevices(in map[string]spec.Device) map[string]map[string]string {
	out := make(map[string]map[string]string, len(in))
	for name, d := range in {
		props := make(map[string]string, len(d))
		for k, v := range d {
			if v != "" {
				props[k] = v
			}
		}
		out[name] = props
	}
	return out
}

// compile builds the desired objects of a remote. obs resolves forward ports
// that target a node without a static address in the configuration.
func compile(r *spec.Remote, obs *observed) *desired {
	d := &desired{
		networks:  map[string]*item[Network]{},
		profiles:  map[string]*item[Profile]{},
		instances: map[string]*item[Instance]{},
		forwards:  map[fwdKey]*item[Forward]{},
	}
	for _, n := range r.Networks {
		typ := n.Type
		if typ == "" {
			typ = spec.DefaultNetworkType
		}
		d.networks[n.Name] = &item[Network]{
			obj:     Network{Name: n.Name, Type: typ, Description: n.Description, Config: cleanConfig(n.Config), Managed: true},
			sources: []string{n.Addr}, pos: n.Pos, adopt: n.Adopt, sensitive: n.Sensitive,
		}
	}
	for _, p := range r.Profiles {
		d.profiles[p.Name] = &item[Profile]{
			obj:     Profile{Name: p.Name, Description: p.Description, Config: cleanConfig(p.Config), Devices: cleanDevices(p.Devices)},
			sources: []string{p.Addr}, pos: p.Pos, adopt: p.Adopt, sensitive: p.Sensitive,
		}
	}
	for _, i := range r.Instances {
		typ := i.Type
		if typ == "" {
			typ = spec.DefaultInstanceType
		}
		profiles := i.Profiles
		if profiles == nil {
			profiles = []string{spec.DefaultProfile}
		}
		state := i.State
		if state == "" {
			state = spec.DefaultState
		}
		d.instances[i.Name] = &item[Instance]{
			obj: Instance{
				Name: i.Name, Type: typ, Description: i.Description, Image: i.Image,
				Profiles: append([]string(nil), profiles...), Config: cleanConfig(i.Config),
				Devices: cleanDevices(i.Devices), Location: i.Target,
			},
			sources: []string{i.Addr}, pos: i.Pos, adopt: i.Adopt, state: state, sensitive: i.Sensitive,
		}
	}
	for _, f := range r.Forwards {
		it := d.forward(f.Network, f.ListenAddress, f.Addr, f.Pos)
		it.adopt = it.adopt || f.Adopt
		it.mark(f.Sensitive)
		d.placeForward(it, f.Target, f.Addr, f.Pos)
		if f.Description != "" {
			it.obj.Description = f.Description
		}
		if f.DefaultTarget != "" {
			it.obj.Config["target_address"] = f.DefaultTarget
		}
		for _, p := range f.Ports {
			target := p.TargetAddress
			if target == "" && p.TargetNode != "" {
				target = liveAddress(obs, p.TargetNode)
				if target == "" {
					d.problems = append(d.problems, Problem{
						Addr: f.Addr, Pos: p.Pos,
						Summary: fmt.Sprintf("node %q has no IPv4 address to forward to", p.TargetNode),
						Detail:  "give its NIC a static ipv4.address, or apply the node first so LXD reports its address",
					})
					continue
				}
			}
			d.addPort(it, f.Addr, p.Pos, ForwardPort{
				Description: p.Description, Protocol: p.Protocol, ListenPort: p.ListenPort,
				TargetAddress: target, TargetPort: p.TargetPort,
			})
			it.markPort(p)
		}
	}
	for _, e := range r.Exposures {
		d.expose(e)
	}
	d.compileACLs(r)
	return d
}

// forward returns the desired forward of (network, listen), creating it.
func (d *desired) forward(network, listen, src string, pos spec.Pos) *item[Forward] {
	key := fwdKey{Network: network, Listen: normalizeListenAddress(listen)}
	it := d.forwards[key]
	if it == nil {
		it = &item[Forward]{
			obj: Forward{Network: network, ListenAddress: key.Listen, Config: map[string]string{}},
			pos: pos, portSrc: map[portKey]string{},
		}
		d.forwards[key] = it
	}
	it.addSource(src)
	return it
}

func (d *desired) addPort(it *item[Forward], src string, pos spec.Pos, p ForwardPort) {
	p = normalizePort(p)
	k := portKey{p.Protocol, p.ListenPort}
	if prev, dup := it.portSrc[k]; dup {
		d.problems = append(d.problems, Problem{
			Addr: src, Pos: pos,
			Summary: fmt.Sprintf("port %s on %s is already forwarded by %s", k, it.obj.ListenAddress, prev),
			Detail:  "each protocol/port of a listen address can be forwarded once",
		})
		return
	}
	it.portSrc[k] = src
	it.obj.Ports = append(it.obj.Ports, p)
}

// expose compiles one service port: a forward port on the node's network, or
// a proxy device on the node.
func (d *desired) expose(e spec.Exposure) {
	src := serviceAddr(e)
	inst := d.instances[e.Instance]
	switch e.Via {
	case spec.ViaForward, "":
		if e.TargetAddress == "" || e.Network == "" {
			d.problems = append(d.problems, invariant(e.Addr, e.Pos, "node %q has no static address on a network for via = \"forward\"", e.Instance))
			return
		}
		it := d.forward(e.Network, e.ListenAddress, src, e.Pos)
		d.addPort(it, e.Addr, e.Pos, ForwardPort{
			Description: e.Addr, Protocol: e.Protocol, ListenPort: e.ListenPort,
			TargetAddress: e.TargetAddress, TargetPort: e.TargetPort,
		})
		if inst != nil {
			it.addSource(inst.sources[0])
			d.placeForward(it, inst.obj.Location, e.Addr, e.Pos) // on the node's member
		}
	case spec.ViaProxy, spec.ViaNAT:
		if inst == nil {
			d.problems = append(d.problems, Problem{
				Addr: e.Addr, Pos: e.Pos,
				Summary: fmt.Sprintf("node %q of %s is not declared on this remote", e.Instance, e.Addr),
				Detail:  "proxy and nat exposures become devices of a node lxnetd manages",
			})
			return
		}
		dev, prob := proxyDevice(e)
		if prob != nil {
			d.problems = append(d.problems, *prob)
			return
		}
		name := ProxyDeviceName(e.Service, e.Port)
		if _, clash := inst.obj.Devices[name]; clash {
			d.problems = append(d.problems, Problem{
				Addr: e.Addr, Pos: e.Pos,
				Summary: fmt.Sprintf("node %q already has a device named %q", e.Instance, name),
				Detail:  "rename the device or the service port",
			})
			return
		}
		inst.obj.Devices[name] = dev
		inst.addSource(src)
	default:
		d.problems = append(d.problems, invariant(e.Addr, e.Pos, "unknown via %q", e.Via))
	}
}

// invariant is the problem of a desired state that package config never
// produces, because it refuses the configuration with a diagnostic first
// (the catalogue in testdata/bad shows each): only a hand-built spec or a
// bug reaches it. The engine does not repeat config's user-facing checks;
// it names the broken invariant instead of panicking.
func invariant(addr string, pos spec.Pos, format string, args ...any) Problem {
	return Problem{Addr: addr, Pos: pos, Summary: fmt.Sprintf(format, args...),
		Detail: "internal invariant violated: package config refuses this configuration before the engine sees it; please report a bug"}
}

// serviceAddr is the configuration address of the service an exposure
// belongs to (`service.web["a"]` for a for_each'd block), so plans name the
// block the user wrote and --target service.web selects every instance of
// it. Service is the LXD-facing name, which a block may set to anything
// (name = each.key); hand-built specs without ServiceAddr fall back to it.
func serviceAddr(e spec.Exposure) string {
	if e.ServiceAddr != "" {
		return e.ServiceAddr
	}
	return "service." + e.Service
}

// proxyDevice builds the proxy device of a proxy or nat exposure. LXD's nat
// mode needs a concrete listen address and connects to the NIC's static
// address; PROXY protocol works only without nat.
func proxyDevice(e spec.Exposure) (map[string]string, *Problem) {
	proto := e.Protocol
	if proto == "" {
		proto = spec.DefaultProtocol
	}
	target := e.TargetPort
	if target == "" {
		target = e.ListenPort
	}
	dev := map[string]string{
		"type":   "proxy",
		"listen": proto + ":" + hostPort(e.ListenAddress, e.ListenPort),
	}
	if e.Via == spec.ViaNAT {
		var prob Problem
		switch {
		case e.TargetAddress == "":
			prob = invariant(e.Addr, e.Pos, "via = \"nat\" needs a static address on node %q", e.Instance)
		case e.ListenAddress == "" || e.ListenAddress == "0.0.0.0" || e.ListenAddress == "::":
			prob = invariant(e.Addr, e.Pos, "via = \"nat\" needs a concrete listen address")
		case e.ProxyProtocol:
			prob = invariant(e.Addr, e.Pos, "proxy_protocol cannot be used with via = \"nat\"")
		default:
			dev["nat"] = "true"
			dev["connect"] = proto + ":" + hostPort(e.TargetAddress, target)
			return dev, nil
		}
		return nil, &prob
	}
	connect := e.TargetAddress
	if connect == "" {
		connect = "127.0.0.1"
	}
	dev["connect"] = proto + ":" + hostPort(connect, target)
	if e.ProxyProtocol {
		dev["proxy_protocol"] = "true"
	}
	return dev, nil
}

// liveAddress is the first global IPv4 LXD reports for an instance, NICs in
// name order.
func liveAddress(obs *observed, instance string) string {
	inst, ok := obs.instances[instance]
	if !ok {
		return ""
	}
	nics := make([]string, 0, len(inst.Addresses))
	for n := range inst.Addresses {
		nics = append(nics, n)
	}
	sort.Strings(nics)
	for _, n := range nics {
		for _, a := range inst.Addresses[n] {
			if !strings.Contains(a, ":") {
				return a
			}
		}
	}
	return ""
}
