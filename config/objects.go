package config

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/zclconf/go-cty/cty"
)

// Results of evaluation, kept with what later checks need to point back at
// the configuration.
type (
	remoteResult struct {
		d    *decl
		spec spec.Remote
	}
	networkResult struct {
		inst      *instance
		remote    string
		spec      spec.Network
		nameRange *hcl.Range
		failed    bool // has errors: kept only for the checks of what refers to it
	}
	profileResult struct {
		inst      *instance
		remote    string
		spec      spec.Profile
		nameRange *hcl.Range
	}
	nodeResult struct {
		inst      *instance
		remote    string
		spec      spec.Instance
		nameRange *hcl.Range
	}
	serviceResult struct {
		inst      *instance
		name      string
		nameRange *hcl.Range
		exposures []*exposureResult
	}
	exposureResult struct {
		remote    string
		spec      spec.Exposure
		nodeRng   *hcl.Range
		listenRng *hcl.Range
	}
	forwardResult struct {
		inst   *instance
		remote string
		spec   spec.Forward
		// where listen_address, target_address and each port's target are
		// written, for the checks against the network's subnet
		listenRng, defaultRng *hcl.Range
		targetRngs            []*hcl.Range
	}
	// listener is a host address and ports something listens on, for the
	// check that nothing is exposed twice.
	listener struct {
		remote, proto string
		addr          netip.Addr
		ports         []portRange
		rng           *hcl.Range
		what          string
		network       string    // for forwards: the network the listen address is on
		port, node    string    // for services: the port block's address (shared by the listeners of its nodes) and the node's
		nodeInst      *instance // for services: the node instance (for a hint that fits its count or for_each)
		member        string    // the cluster member it listens on, when known (listeners.go)
	}
)

var networkBoolKeys = []string{"ipv4.nat", "ipv6.nat", "ipv4.dhcp", "ipv6.dhcp", "ipv4.firewall", "ipv6.firewall", "ipv4.routing", "ipv6.routing", "ipv6.dhcp.stateful"}

func (l *loader) evalNetwork(inst *instance) (cty.Value, hcl.Diagnostics) {
	e := l.instEv(inst)
	remote, _, rok := l.remoteOf(e, inst)
	name, nameRng := l.objectName(e, inst, networkNameProblem, "network")
	typ := l.choice(e, "type", spec.DefaultNetworkType, networkTypes, "network type")
	desc, _ := e.str("description")
	cfg, aCfg := e.strMap("config")
	meta := l.meta(e, inst)
	meta.Sensitive = sensitiveFields(e, nil, cfg)
	if !rok || e.bad["name"] {
		return cty.NilVal, *e.diags
	}
	if aCfg != nil && !e.bad["config"] {
		l.checkReservedKeys(e, aCfg, cfg)
		for _, k := range sortedKeys(cfg) {
			v := cfg[k]
			problem := ""
			switch {
			case k == "ipv4.address":
				problem = cidrProblem(v, false)
			case k == "ipv6.address":
				problem = cidrProblem(v, true)
			case oneOf(k, networkBoolKeys):
				problem = boolProblem(v)
			case k == "bridge.driver" && !oneOf(v, []string{"native", "openvswitch"}):
				problem = "must be \"native\" (a Linux bridge, LXD's default) or \"openvswitch\" (an Open vSwitch bridge)"
			case k == "dns.mode" && !oneOf(v, []string{"managed", "dynamic", "none"}):
				problem = "must be \"managed\", \"dynamic\" or \"none\""
			case strings.HasPrefix(k, "tunnel.") && strings.HasSuffix(k, ".protocol") && !oneOf(v, []string{"vxlan", "gre"}):
				problem = "must be \"vxlan\" or \"gre\""
			case strings.HasPrefix(k, "tunnel.") && (strings.HasSuffix(k, ".local") || strings.HasSuffix(k, ".remote")):
				if _, err := netip.ParseAddr(v); err != nil {
					problem = "must be an IP address"
				}
			case strings.HasPrefix(k, "security.acls"):
				problem = aclKeyProblem(k, v)
			case k == "bridge.mtu" || (strings.HasPrefix(k, "tunnel.") && strings.HasSuffix(k, ".id")):
				if _, err := strconv.ParseUint(v, 10, 32); err != nil {
					problem = "must be a whole number"
				}
			}
			if problem != "" {
				e.errorf(valueRange(aCfg, e.ctx, k), "Invalid network configuration", "%q = %s %s.", k, quoted(v), problem)
				e.failed = true
			}
		}
		if typ == "bridge" {
			l.checkTunnelNames(e, aCfg, name, cfg)
			l.checkTunnelModes(e, aCfg, cfg) // tunnels.go
		}
	}
	if oneOf(typ, []string{"macvlan", "sriov", "physical"}) && cfg["parent"] == "" {
		rng := e.def.Ptr()
		if aCfg != nil {
			rng = aCfg.Expr.Range().Ptr()
		}
		e.errorf(rng, "Missing parent interface",
			"A %s network needs config \"parent\" = \"<host interface>\", the host NIC it is built on (e.g. \"eth1\").", typ)
		e.failed = true
	}
	// A network with errors is kept (the configuration is refused anyway), so
	// that what is on it, and refers to it, is checked in the same run.
	l.networks = append(l.networks, &networkResult{inst: inst, remote: remote, nameRange: nameRng, failed: e.failed, spec: spec.Network{
		Meta: meta, Name: name, Type: typ, Description: desc, Config: cfg,
	}})
	return cty.ObjectVal(map[string]cty.Value{
		"name": cty.StringVal(name), "remote": cty.StringVal(remote), "type": e.or("type", cty.StringVal(typ)),
		"description": e.or("description", e.remark("description", cty.StringVal(desc))), "config": e.or("config", e.remark("config", mapVal(cfg))),
	}), *e.diags
}

// maxTunnelNameLen is the longest "<bridge>-<tunnel>" interface name LXD
// accepts: IFNAMSIZ-1 = 15 (lxd/network/driver_bridge.go refuses
// len(bridge)+len(tunnel) > 14 with "Network name too long for tunnel
// interface", at apply time).
const maxTunnelNameLen = 15

// tunnelKeys are the per-tunnel keys of an LXD bridge (tunnel.NAME.KEY).
var tunnelKeys = []string{"protocol", "local", "remote", "port", "group", "id", "interface", "ttl"}

// checkTunnelNames reports tunnel keys LXD would refuse, and tunnel.NAME.* keys of a bridge whose tunnel
// interface name "<bridge>-<NAME>" would be too long for the kernel, once
// per tunnel, on its first key.
func (l *loader) checkTunnelNames(e *ev, aCfg *hcl.Attribute, bridge string, cfg map[string]string) {
	seen := map[string]bool{}
	for _, k := range sortedKeys(cfg) {
		fields := strings.Split(k, ".")
		if fields[0] != "tunnel" {
			continue
		}
		if len(fields) != 3 || fields[1] == "" || !oneOf(fields[2], tunnelKeys) {
			e.errorf(keyRange(aCfg, e.ctx, k), "Invalid tunnel key",
				"LXD's tunnel keys are tunnel.NAME.KEY with KEY one of %s (e.g. \"tunnel.t1.protocol\"); it refuses %q.", strings.Join(tunnelKeys, ", "), k)
			e.failed = true
			continue
		}
		if seen[fields[1]] {
			continue
		}
		seen[fields[1]] = true
		ifname := bridge + "-" + fields[1]
		if len(ifname) > maxTunnelNameLen {
			e.errorf(keyRange(aCfg, e.ctx, k), "Tunnel interface name too long",
				"LXD names this tunnel's interface %q (%d characters), but interface names are at most %d characters, so apply would fail. Shorten the bridge name %q or the tunnel name %q.", ifname, len(ifname), maxTunnelNameLen, bridge, fields[1])
			e.failed = true
		}
	}
}

func (l *loader) evalProfile(inst *instance) (cty.Value, hcl.Diagnostics) {
	e := l.instEv(inst)
	remote, _, rok := l.remoteOf(e, inst)
	name, nameRng := l.objectName(e, inst, profileNameProblem, "profile")
	desc, _ := e.str("description")
	cfg, _ := l.config(e)
	devices, _, dok := l.evalDevices(e, inst)
	meta := l.meta(e, inst)
	meta.Sensitive = sensitiveFields(e, inst, cfg)
	if !rok || e.bad["name"] {
		return cty.NilVal, *e.diags
	}
	if !e.failed && dok {
		l.profiles = append(l.profiles, &profileResult{inst: inst, remote: remote, nameRange: nameRng, spec: spec.Profile{
			Meta: meta, Name: name, Description: desc, Config: cfg, Devices: devices,
		}})
	}
	return cty.ObjectVal(map[string]cty.Value{
		"name": cty.StringVal(name), "remote": cty.StringVal(remote),
		"description": e.or("description", e.remark("description", cty.StringVal(desc))), "config": e.or("config", e.remark("config", mapVal(cfg))),
	}), *e.diags
}

// evalDevices evaluates the device blocks of a profile or node, returning
// them with their names in declaration order.
func (l *loader) evalDevices(e *ev, inst *instance) (map[string]spec.Device, []string, bool) {
	var devices map[string]spec.Device
	var order []string
	ok := true
	seen := map[string]*hcl.Block{}
	for _, nb := range inst.d.nested {
		if nb.block.Type != "device" {
			continue
		}
		dname := nb.block.Labels[0]
		if p := deviceNameProblem(dname); p != "" {
			e.errorf(nb.block.LabelRanges[0].Ptr(), "Invalid device name", "The device name %q %s.", dname, p)
			ok = false
			continue
		}
		if prev, dup := seen[dname]; dup {
			e.errorf(nb.block.LabelRanges[0].Ptr(), "Duplicate device",
				"A device named %q is already declared in this block at %s; device names must be unique per %s.", dname, prev.DefRange, inst.d.kind)
			ok = false
			continue
		}
		seen[dname] = nb.block
		de := e.nested(nb.content.Attributes, nb.block.DefRange)
		typ, _ := de.str("type")
		l.checkOneOf(de, "type", typ, deviceTypes, "device type")
		props, aProps := de.strMap("properties")
		for _, k := range de.sensitiveKeys("properties", props) {
			inst.sensitiveProps = append(inst.sensitiveProps, "devices."+dname+"."+k)
		}
		if !de.failed {
			l.checkDevice(de, nb, typ, props, aProps)
		}
		if de.failed {
			ok = false
			continue
		}
		dev := spec.Device{"type": typ}
		for k, v := range props {
			dev[k] = v
		}
		if devices == nil {
			devices = map[string]spec.Device{}
		}
		devices[dname] = dev
		order = append(order, dname)
	}
	return devices, order, ok
}

var nicBoolKeys = []string{"security.mac_filtering", "security.ipv4_filtering", "security.ipv6_filtering", "security.port_isolation"}

// checkDevice validates the properties LXD would reject for the common
// device types.
func (l *loader) checkDevice(e *ev, nb *nestedBlock, typ string, props map[string]string, a *hcl.Attribute) {
	bad := func(key, format string, args ...any) {
		rng := e.def.Ptr()
		if a != nil {
			rng = valueRange(a, e.ctx, key)
		}
		e.errorf(rng, "Invalid device property", format, args...)
		e.failed = true
	}
	if _, ok := props["type"]; ok {
		e.errorf(keyRange(a, e.ctx, "type"), "Invalid device property",
			"The device type goes in the type argument of the device block (type = %s), not in properties.", quoted(props["type"]))
		e.failed = true
	}
	switch typ {
	case "nic":
		if props["network"] == "" && props["nictype"] == "" {
			e.errorf(nb.block.DefRange.Ptr(), "Incomplete nic device",
				"A nic device needs \"network\" = a managed network (e.g. network.br0.name), or \"nictype\" (bridged, macvlan, physical, ...) with \"parent\".")
			e.failed = true
		}
		if v, ok := props["ipv4.address"]; ok {
			if ip, err := netip.ParseAddr(v); err != nil || !ip.Is4() {
				bad("ipv4.address", "\"ipv4.address\" = %s must be a single IPv4 address such as \"10.231.5.10\" (no prefix length: the network sets the subnet).", quoted(v))
			}
		}
		if v, ok := props["ipv6.address"]; ok {
			if ip, err := netip.ParseAddr(v); err != nil || !ip.Is6() {
				bad("ipv6.address", "\"ipv6.address\" = %s must be a single IPv6 address.", quoted(v))
			}
		}
		for _, k := range nicBoolKeys {
			if v, ok := props[k]; ok && boolProblem(v) != "" {
				bad(k, "%q = %s must be true or false.", k, quoted(v))
			}
		}
		for _, k := range sortedKeys(props) {
			if p := aclKeyProblem(k, props[k]); p != "" {
				bad(k, "%q = %s %s.", k, quoted(props[k]), p)
			}
		}
	case "proxy":
		for _, k := range []string{"listen", "connect"} {
			v, ok := props[k]
			if !ok {
				rng := nb.block.DefRange.Ptr()
				if a != nil {
					rng = a.Expr.Range().Ptr()
				}
				e.errorf(rng, "Incomplete proxy device", "A proxy device needs %q, like \"tcp:0.0.0.0:80\".", k)
				e.failed = true
				continue
			}
			if p := proxyAddressProblem(v); p != "" {
				bad(k, "The proxy %s address %s %s.", k, quoted(v), p)
			}
		}
		for _, k := range []string{"nat", "proxy_protocol"} {
			if v, ok := props[k]; ok && boolProblem(v) != "" {
				bad(k, "%q = %s must be true or false.", k, quoted(v))
			}
		}
		if isTrue(props["nat"]) && isTrue(props["proxy_protocol"]) {
			bad("proxy_protocol", "LXD cannot send the PROXY protocol header from a NAT proxy device (nat = true); remove one of the two.")
		}
	case "disk":
		if props["path"] == "" && props["source"] == "" {
			e.errorf(nb.block.DefRange.Ptr(), "Incomplete disk device", "A disk device needs \"path\" (where it appears in the instance) and usually \"source\" or \"pool\".")
			e.failed = true
		}
	}
}

func isTrue(s string) bool {
	switch strings.ToLower(s) {
	case "true", "1", "yes", "on":
		return true
	}
	return false
}

func (l *loader) evalNode(inst *instance) (cty.Value, hcl.Diagnostics) {
	e := l.instEv(inst)
	remote, _, rok := l.remoteOf(e, inst)
	name, nameRng := l.objectName(e, inst, instanceNameProblem, "instance")
	image, _ := e.str("image")
	typ := l.choice(e, "type", spec.DefaultInstanceType, instanceTypes, "instance type")
	desc, _ := e.str("description")
	state := l.choice(e, "state", spec.DefaultState, instanceState, "instance state")
	target, _ := e.str("target")
	cfg, _ := l.config(e)
	meta := l.meta(e, inst)
	profiles := []string{spec.DefaultProfile}
	if els, a := e.elements("profiles"); a != nil && !e.bad["profiles"] {
		profiles = []string{}
		for _, el := range els {
			n, ok := nameOf(el)
			if !ok || el.IsNull() {
				e.typeError(a, "list of profile names or profile.NAME")
				break
			}
			if p := profileNameProblem(n); p != "" {
				e.errorf(a.Expr.Range().Ptr(), "Invalid profile name", "The profile name %q %s.", n, p)
				e.failed = true
			}
			profiles = append(profiles, n)
		}
	}
	if image == "" && !meta.Adopt && !e.bad["image"] && !e.bad["adopt"] {
		e.errorf(e.def.Ptr(), "Missing image",
			"A node needs image = \"ALIAS\" (an image alias or fingerprint on its remote, or \"server:alias\") to be created, unless adopt = true takes over an existing instance.")
		e.failed = true
	}
	devices, order, dok := l.evalDevices(e, inst)
	meta.Sensitive = sensitiveFields(e, inst, cfg)
	if !rok || e.bad["name"] {
		return cty.NilVal, *e.diags
	}
	n := spec.Instance{Meta: meta, Name: name, Image: image, Type: typ, Description: desc, Profiles: profiles,
		Config: cfg, Devices: devices, State: state, Target: target}
	// The node's static address: the first nic device that sets one.
	for _, dn := range order {
		dev := devices[dn]
		if dev["type"] == "nic" && dev["ipv4.address"] != "" {
			n.IPv4, n.NIC, n.Network = dev["ipv4.address"], dn, dev["network"]
			break
		}
	}
	// A node with errors in its own arguments is kept (the configuration is
	// refused anyway) so that services and forwards pointing at it are
	// checked; a node whose devices failed is not: its static address is
	// not known, and what refers to it says it was not checked.
	if dok {
		res := &nodeResult{inst: inst, remote: remote, nameRange: nameRng, spec: n}
		l.nodes = append(l.nodes, res)
		if l.nodeByID == nil {
			l.nodeByID = map[string]*nodeResult{}
		}
		if _, dup := l.nodeByID[remote+"/"+name]; !dup {
			l.nodeByID[remote+"/"+name] = res
		}
	}
	addrOr := func(s string) cty.Value {
		if !dok {
			return cty.DynamicVal
		}
		return nullableStr(s)
	}
	profVals := make([]cty.Value, len(profiles))
	for i, p := range profiles {
		profVals[i] = cty.StringVal(p)
	}
	profList := cty.ListValEmpty(cty.String)
	if len(profVals) > 0 {
		profList = cty.ListVal(profVals)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"name": cty.StringVal(name), "remote": cty.StringVal(remote), "image": e.or("image", cty.StringVal(image)),
		"type": e.or("type", cty.StringVal(typ)), "state": e.or("state", cty.StringVal(state)), "target": e.or("target", cty.StringVal(target)),
		"description": e.or("description", e.remark("description", cty.StringVal(desc))), "profiles": e.or("profiles", profList), "config": e.or("config", e.remark("config", mapVal(cfg))),
		"ipv4": addrOr(n.IPv4), "nic": addrOr(n.NIC), "network": addrOr(n.Network),
	}), *e.diags
}

// resolveNode turns a node reference value (node.x) into its node.
func (l *loader) resolveNode(e *ev, v cty.Value, rng *hcl.Range) (*nodeResult, bool) {
	ty := v.Type()
	if ty == cty.String {
		e.errorf(rng, "Invalid node reference",
			"Refer to the node block itself, like node.web1 (or node.web[\"a\"] for a for_each block, values(node.web) for all of them), not to a name string: lxnetd needs the node's remote and address.")
		return nil, false
	}
	if !ty.IsObjectType() || !ty.HasAttribute("name") || !ty.HasAttribute("remote") || !ty.HasAttribute("ipv4") {
		if holdsObjects(v, "name", "remote", "ipv4") {
			src := l.sourceText(rng)
			e.errorf(rng, "Invalid node reference",
				"%s holds several nodes (its block has for_each or count); pick one, like %s[\"KEY\"] or %s[0]. A service takes them all with nodes = values(%s).", src, src, src, src)
			return nil, false
		}
		e.errorf(rng, "Invalid node reference", "This value is %s, not a node; refer to a node block, like node.web1.", withArticle(ty.FriendlyName()))
		return nil, false
	}
	name, remote := v.GetAttr("name"), v.GetAttr("remote")
	if name.Type() != cty.String || remote.Type() != cty.String || name.IsNull() || remote.IsNull() {
		e.errorf(rng, "Invalid node reference", "This value is not a node; refer to a node block, like node.web1.")
		return nil, false
	}
	n, ok := l.nodeByID[remote.AsString()+"/"+name.AsString()]
	return n, ok
}

// holdsObjects says whether v is the value of a block with for_each or
// count: a non-empty map, object, tuple or list of objects that all have
// the attributes attrs (those of one block kind).
func holdsObjects(v cty.Value, attrs ...string) bool {
	ty := v.Type()
	if !(ty.IsObjectType() || ty.IsMapType() || ty.IsTupleType() || ty.IsListType()) || !v.IsKnown() || v.IsNull() || v.LengthInt() == 0 {
		return false
	}
	for it := v.ElementIterator(); it.Next(); {
		_, el := it.Element()
		et := el.Type()
		if !et.IsObjectType() {
			return false
		}
		for _, a := range attrs {
			if !et.HasAttribute(a) {
				return false
			}
		}
	}
	return true
}

// sourceText is the configuration text of rng (for naming an expression in
// a hint), or "this value" when it is not available.
func (l *loader) sourceText(rng *hcl.Range) string {
	src, ok := l.sources[rng.Filename]
	if !ok || rng.Start.Byte < 0 || rng.End.Byte > len(src) || rng.Start.Byte >= rng.End.Byte {
		return "this value"
	}
	return string(src[rng.Start.Byte:rng.End.Byte])
}

// withArticle puts "a" or "an" before a type name ("an object", "a string").
func withArticle(s string) string {
	if s != "" && strings.ContainsRune("aeiou", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}
