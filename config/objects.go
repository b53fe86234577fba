package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

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
	}
)

func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration", s)
	}
	if d < time.Second {
		return 0, fmt.Errorf("%q is shorter than one second", s)
	}
	return d, nil
}

func (l *loader) evalRemote(d *decl, ctx *hcl.EvalContext) (cty.Value, bool) {
	e := l.newEv(d, ctx, d.content.Attributes)
	address, aAddr := e.str("address")
	project, _ := e.str("project")
	cert, aCert := e.str("client_cert")
	key, aKey := e.str("client_key")
	fp, aFp := e.str("server_fingerprint")
	lxcRemote, _ := e.str("lxc_remote")
	if e.failed {
		// Still a remote by that name, so the blocks on it are checked.
		return cty.ObjectVal(map[string]cty.Value{
			"name": cty.StringVal(d.name), "address": e.or("address", cty.StringVal(address)), "project": e.or("project", cty.StringVal(strOr(project, "default"))),
		}), true
	}
	def := d.block.DefRange.Ptr()
	if lxcRemote == "" {
		// With lxc_remote an unset project stays empty: the adapter takes the
		// lxc remote's project (as lxc does), else "default".
		project = strOr(project, "default")
	}
	r := spec.Remote{Name: d.name, Pos: posOf(d.block.DefRange), Address: address, Project: project,
		ClientCert: l.configPath(cert), ClientKey: l.configPath(key), LXCRemote: lxcRemote}
	bad := false
	fail := func(rng *hcl.Range, summary, format string, args ...any) {
		l.errorf(rng, summary, format, args...)
		bad = true
	}
	if lxcRemote != "" {
		// A null value is the same as an absent argument (as in Terraform),
		// so one remote block can serve unix and https through variables.
		for i, a := range []*hcl.Attribute{aAddr, aCert, aKey} {
			if a != nil && []string{address, cert, key}[i] != "" {
				fail(a.NameRange.Ptr(), "Conflicting remote settings",
					"With lxc_remote set, the address and client certificate come from the lxc client configuration; remove %s, or remove lxc_remote.", a.Name)
			}
		}
	} else {
		switch {
		case address == "":
			fail(def, "Missing remote address",
				"Set address = \"unix://\" (the local LXD socket), \"unix:///path/to/unix.socket\" or \"https://host:8443\" — or lxc_remote = \"NAME\" to use a remote of the lxc client configuration.")
		case strings.HasPrefix(address, "unix://"):
			if p := strings.TrimPrefix(address, "unix://"); p != "" && !filepath.IsAbs(p) {
				fail(aAddr.Expr.Range().Ptr(), "Invalid remote address",
					"A unix socket address needs an absolute path: \"unix:///var/lib/lxd/unix.socket\" (three slashes), or just \"unix://\" for the default socket.")
			}
			if cert != "" || key != "" {
				a := aCert
				if cert == "" {
					a = aKey
				}
				fail(a.NameRange.Ptr(), "Unused client certificate",
					"%s is used only with https remotes; remove it, or set an https:// address.", a.Name)
			}
		case strings.HasPrefix(address, "https://"):
			u, err := url.Parse(address)
			if err != nil || u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
				fail(aAddr.Expr.Range().Ptr(), "Invalid remote address",
					"An https remote address is \"https://HOST:PORT\", e.g. \"https://10.0.0.5:8443\", with no path.")
				break
			}
			if u.Port() == "" {
				r.Address = "https://" + u.Host + ":8443"
			} else {
				r.Address = "https://" + u.Host
			}
			var missing []string
			if cert == "" {
				missing = append(missing, "client_cert")
			}
			if key == "" {
				missing = append(missing, "client_key")
			}
			if len(missing) > 0 {
				fail(def, "Missing client certificate",
					"An https remote needs %s: PEM files of a client certificate the LXD server trusts (lxc config trust add). Or set lxc_remote to use the lxc client's configuration.", strings.Join(missing, " and "))
			}
			for _, c := range []struct {
				path, what string
				a          *hcl.Attribute
			}{{cert, "certificate", aCert}, {key, "key", aKey}} {
				if c.path == "" {
					continue
				}
				if err := l.readableFile(c.path); err != nil {
					fail(c.a.Expr.Range().Ptr(), "Cannot read client "+c.what,
						"%s = %s: %v. Relative paths are relative to the configuration directory; give the PEM file of a client certificate (and its key) that the LXD server trusts.", c.a.Name, quoted(c.path), err)
				}
			}
			if fp == "" {
				fail(def, "Missing server fingerprint",
					"lxnetd refuses to talk to an https server it cannot verify. Set server_fingerprint = \"sha256:<64 hex digits>\", the SHA-256 fingerprint of the server certificate (openssl x509 -noout -fingerprint -sha256 -in server.crt).")
			}
		default:
			fail(aAddr.Expr.Range().Ptr(), "Invalid remote address",
				"A remote address starts with unix:// (local socket) or https:// (remote LXD over TLS); got %s.", quoted(address))
		}
	}
	if fp != "" {
		norm, ok := fingerprint(fp)
		if !ok {
			fail(aFp.Expr.Range().Ptr(), "Invalid server fingerprint",
				"A fingerprint is \"sha256:\" followed by 64 hexadecimal digits (colons between byte pairs are allowed), e.g. the output of openssl x509 -noout -fingerprint -sha256.")
		}
		r.ServerFingerprint = norm
	}
	if !bad {
		l.remotes = append(l.remotes, &remoteResult{d: d, spec: r})
	}
	// Even a remote with errors has a name: the blocks on it are checked too.
	return cty.ObjectVal(map[string]cty.Value{
		"name": cty.StringVal(r.Name), "address": e.or("address", cty.StringVal(r.Address)), "project": e.or("project", cty.StringVal(r.Project)),
	}), true
}

// readableFile checks that p (as written, relative to the configuration
// directory) is a regular file that can be opened for reading. The error
// names no absolute path, so messages are the same wherever the directory
// is.
func (l *loader) readableFile(p string) error {
	var f fs.File
	var err error
	if l.dir == "" && !filepath.IsAbs(p) {
		name := filepath.ToSlash(filepath.Clean(p))
		if !fs.ValidPath(name) {
			return fmt.Errorf("not inside the configuration directory")
		}
		f, err = l.fsys.Open(name)
	} else {
		f, err = os.Open(l.configPath(p))
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	switch {
	case err != nil:
		return err
	case st.IsDir():
		return fmt.Errorf("is a directory, not a file")
	case !st.Mode().IsRegular():
		return fmt.Errorf("not a regular file")
	}
	return nil
}

// configPath makes a relative file path relative to the configuration
// directory, so certificates can live beside the files.
func (l *loader) configPath(p string) string {
	if p == "" || filepath.IsAbs(p) || l.dir == "" {
		return p
	}
	return filepath.Join(l.dir, p)
}

var networkBoolKeys = []string{"ipv4.nat", "ipv6.nat", "ipv4.dhcp", "ipv6.dhcp", "ipv4.firewall", "ipv6.firewall", "ipv4.routing", "ipv6.routing", "ipv6.dhcp.stateful"}

func (l *loader) evalNetwork(inst *instance) cty.Value {
	e := l.instEv(inst, inst.d.content.Attributes, inst.d.block.DefRange)
	remote, _, rok := l.remoteOf(e, inst)
	name, nameRng := l.objectName(e, inst, networkNameProblem, "network")
	typ, _ := e.str("type")
	typ = strOr(typ, "bridge")
	l.checkOneOf(e, "type", typ, networkTypes, "network type")
	desc, _ := e.str("description")
	cfg, aCfg := e.strMap("config")
	meta := l.meta(e, inst)
	if !rok || e.bad["name"] {
		return cty.NilVal
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
			case k == "dns.mode" && !oneOf(v, []string{"managed", "dynamic", "none"}):
				problem = "must be \"managed\", \"dynamic\" or \"none\""
			case strings.HasPrefix(k, "tunnel.") && strings.HasSuffix(k, ".protocol") && !oneOf(v, []string{"vxlan", "gre"}):
				problem = "must be \"vxlan\" or \"gre\""
			case strings.HasPrefix(k, "tunnel.") && (strings.HasSuffix(k, ".local") || strings.HasSuffix(k, ".remote")):
				if _, err := netip.ParseAddr(v); err != nil {
					problem = "must be an IP address"
				}
			case k == "bridge.mtu" || (strings.HasPrefix(k, "tunnel.") && strings.HasSuffix(k, ".id")):
				if _, err := strconv.ParseUint(v, 10, 32); err != nil {
					problem = "must be a whole number"
				}
			}
			if problem != "" {
				l.errorf(valueRange(aCfg, e.ctx, k), "Invalid network configuration", "%q = %s %s.", k, quoted(v), problem)
				e.failed = true
			}
		}
		if typ == "bridge" {
			l.checkTunnelNames(e, aCfg, name, cfg)
		}
	}
	if oneOf(typ, []string{"macvlan", "sriov", "physical"}) && cfg["parent"] == "" {
		rng := e.def.Ptr()
		if aCfg != nil {
			rng = aCfg.Expr.Range().Ptr()
		}
		l.errorf(rng, "Missing parent interface",
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
		"description": e.or("description", cty.StringVal(desc)), "config": e.or("config", mapVal(cfg)),
	})
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
			l.errorf(keyRange(aCfg, e.ctx, k), "Invalid tunnel key",
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
			l.errorf(keyRange(aCfg, e.ctx, k), "Tunnel interface name too long",
				"LXD names this tunnel's interface %q (%d characters), but interface names are at most %d characters, so apply would fail. Shorten the bridge name %q or the tunnel name %q.", ifname, len(ifname), maxTunnelNameLen, bridge, fields[1])
			e.failed = true
		}
	}
}

func (l *loader) evalProfile(inst *instance) cty.Value {
	e := l.instEv(inst, inst.d.content.Attributes, inst.d.block.DefRange)
	remote, _, rok := l.remoteOf(e, inst)
	name, nameRng := l.objectName(e, inst, profileNameProblem, "profile")
	desc, _ := e.str("description")
	cfg, aCfg := e.strMap("config")
	meta := l.meta(e, inst)
	if aCfg != nil && !e.bad["config"] {
		l.checkReservedKeys(e, aCfg, cfg)
	}
	devices, _, dok := l.evalDevices(inst)
	if !rok || e.bad["name"] {
		return cty.NilVal
	}
	if !e.failed && dok {
		l.profiles = append(l.profiles, &profileResult{inst: inst, remote: remote, nameRange: nameRng, spec: spec.Profile{
			Meta: meta, Name: name, Description: desc, Config: cfg, Devices: devices,
		}})
	}
	return cty.ObjectVal(map[string]cty.Value{
		"name": cty.StringVal(name), "remote": cty.StringVal(remote),
		"description": e.or("description", cty.StringVal(desc)), "config": e.or("config", mapVal(cfg)),
	})
}

// evalDevices evaluates the device blocks of a profile or node, returning
// them with their names in declaration order.
func (l *loader) evalDevices(inst *instance) (map[string]spec.Device, []string, bool) {
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
			l.errorf(nb.block.LabelRanges[0].Ptr(), "Invalid device name", "The device name %q %s.", dname, p)
			ok = false
			continue
		}
		if prev, dup := seen[dname]; dup {
			l.errorf(nb.block.LabelRanges[0].Ptr(), "Duplicate device",
				"A device named %q is already declared in this block at %s; device names must be unique per %s.", dname, prev.DefRange, inst.d.kind)
			ok = false
			continue
		}
		seen[dname] = nb.block
		de := l.instEv(inst, nb.content.Attributes, nb.block.DefRange)
		typ, _ := de.str("type")
		l.checkOneOf(de, "type", typ, deviceTypes, "device type")
		props, aProps := de.strMap("properties")
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
		l.errorf(rng, "Invalid device property", format, args...)
		e.failed = true
	}
	if _, ok := props["type"]; ok {
		l.errorf(keyRange(a, e.ctx, "type"), "Invalid device property",
			"The device type goes in the type argument of the device block (type = %s), not in properties.", quoted(props["type"]))
		e.failed = true
	}
	switch typ {
	case "nic":
		if props["network"] == "" && props["nictype"] == "" {
			l.errorf(nb.block.DefRange.Ptr(), "Incomplete nic device",
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
	case "proxy":
		for _, k := range []string{"listen", "connect"} {
			v, ok := props[k]
			if !ok {
				rng := nb.block.DefRange.Ptr()
				if a != nil {
					rng = a.Expr.Range().Ptr()
				}
				l.errorf(rng, "Incomplete proxy device", "A proxy device needs %q, like \"tcp:0.0.0.0:80\".", k)
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
			l.errorf(nb.block.DefRange.Ptr(), "Incomplete disk device", "A disk device needs \"path\" (where it appears in the instance) and usually \"source\" or \"pool\".")
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

func (l *loader) evalNode(inst *instance) cty.Value {
	e := l.instEv(inst, inst.d.content.Attributes, inst.d.block.DefRange)
	remote, _, rok := l.remoteOf(e, inst)
	name, nameRng := l.objectName(e, inst, instanceNameProblem, "instance")
	image, _ := e.str("image")
	typ, _ := e.str("type")
	typ = strOr(typ, "container")
	l.checkOneOf(e, "type", typ, instanceTypes, "instance type")
	desc, _ := e.str("description")
	state, _ := e.str("state")
	state = strOr(state, "running")
	l.checkOneOf(e, "state", state, instanceState, "instance state")
	target, _ := e.str("target")
	cfg, aCfg := e.strMap("config")
	meta := l.meta(e, inst)
	profiles := []string{"default"}
	if els, a := e.elements("profiles"); a != nil && !e.bad["profiles"] {
		profiles = []string{}
		for _, el := range els {
			n, ok := nameOf(el)
			if !ok || el.IsNull() {
				e.typeError(a, "list of profile names or profile.NAME")
				break
			}
			if p := profileNameProblem(n); p != "" {
				l.errorf(a.Expr.Range().Ptr(), "Invalid profile name", "The profile name %q %s.", n, p)
				e.failed = true
			}
			profiles = append(profiles, n)
		}
	}
	if aCfg != nil && !e.bad["config"] {
		l.checkReservedKeys(e, aCfg, cfg)
	}
	if image == "" && !meta.Adopt && !e.bad["image"] && !e.bad["adopt"] {
		l.errorf(e.def.Ptr(), "Missing image",
			"A node needs image = \"ALIAS\" (an image alias or fingerprint on its remote, or \"server:alias\") to be created, unless adopt = true takes over an existing instance.")
		e.failed = true
	}
	devices, order, dok := l.evalDevices(inst)
	if !rok || e.bad["name"] {
		return cty.NilVal
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
		"description": e.or("description", cty.StringVal(desc)), "profiles": e.or("profiles", profList), "config": e.or("config", mapVal(cfg)),
		"ipv4": addrOr(n.IPv4), "nic": addrOr(n.NIC), "network": addrOr(n.Network),
	})
}

// resolveNode turns a node reference value (node.x) into its node.
func (l *loader) resolveNode(v cty.Value, rng *hcl.Range) (*nodeResult, bool) {
	ty := v.Type()
	if ty == cty.String {
		l.errorf(rng, "Invalid node reference",
			"Refer to the node block itself, like node.web1 (or node.web[\"a\"] for a for_each block, values(node.web) for all of them), not to a name string: lxnetd needs the node's remote and address.")
		return nil, false
	}
	if !ty.IsObjectType() || !ty.HasAttribute("name") || !ty.HasAttribute("remote") || !ty.HasAttribute("ipv4") {
		if holdsObjects(v, "name", "remote", "ipv4") {
			src := l.sourceText(rng)
			l.errorf(rng, "Invalid node reference",
				"%s holds several nodes (its block has for_each or count); pick one, like %s[\"KEY\"] or %s[0]. A service takes them all with nodes = values(%s).", src, src, src, src)
			return nil, false
		}
		l.errorf(rng, "Invalid node reference", "This value is %s, not a node; refer to a node block, like node.web1.", withArticle(ty.FriendlyName()))
		return nil, false
	}
	name, remote := v.GetAttr("name"), v.GetAttr("remote")
	if name.Type() != cty.String || remote.Type() != cty.String || name.IsNull() || remote.IsNull() {
		l.errorf(rng, "Invalid node reference", "This value is not a node; refer to a node block, like node.web1.")
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

func (l *loader) evalService(inst *instance) cty.Value {
	e := l.instEv(inst, inst.d.content.Attributes, inst.d.block.DefRange)
	name, nameRng := l.objectName(e, inst, deviceNameProblem, "service")
	// A service's and its ports' description are for people reading the
	// configuration only: nothing in LXD carries them (README). They are
	// still evaluated so that a mistake in them is reported.
	e.str("description")
	type target struct {
		n   *nodeResult
		rng *hcl.Range
	}
	var targets []target
	nodeV, aNode := e.get("node")
	nodesV, aNodes := e.elements("nodes")
	switch {
	case e.bad["node"] || e.bad["nodes"]:
	case aNode != nil && aNodes != nil:
		l.errorf(aNodes.NameRange.Ptr(), "Conflicting arguments", "Use either node (one node) or nodes (a list), not both.")
		e.failed = true
	case aNode == nil && aNodes == nil:
		l.errorf(e.def.Ptr(), "Missing node",
			"A service needs node = node.NAME, or nodes = [node.a, node.b] (values(node.web) for every instance of a for_each node block).")
		e.failed = true
	case aNode != nil:
		if nodeV == cty.NilVal {
			l.errorf(aNode.Expr.Range().Ptr(), "Missing node", "node is null; refer to a node block, like node.web1.")
			e.failed = true
		} else if n, ok := l.resolveNode(nodeV, aNode.Expr.Range().Ptr()); ok {
			targets = append(targets, target{n, aNode.Expr.Range().Ptr()})
		} else {
			e.failed = true
		}
	default:
		if len(nodesV) == 0 {
			l.errorf(aNodes.Expr.Range().Ptr(), "Missing node", "nodes is empty; a service needs at least one node.")
			e.failed = true
		}
		for _, v := range nodesV {
			if v.IsNull() {
				continue
			}
			if n, ok := l.resolveNode(v, aNodes.Expr.Range().Ptr()); ok {
				targets = append(targets, target{n, aNodes.Expr.Range().Ptr()})
			} else {
				e.failed = true
			}
		}
	}
	res := &serviceResult{inst: inst, name: name, nameRange: nameRng}
	ports := 0
	seenPort := map[string]*hcl.Block{}
	for _, nb := range inst.d.nested {
		if nb.block.Type != "port" {
			continue
		}
		ports++
		pname := nb.block.Labels[0]
		if p := deviceNameProblem(pname); p != "" {
			l.errorf(nb.block.LabelRanges[0].Ptr(), "Invalid port name", "The port name %q %s.", pname, p)
			e.failed = true
			continue
		}
		if prev, dup := seenPort[pname]; dup {
			l.errorf(nb.block.LabelRanges[0].Ptr(), "Duplicate port block",
				"A port named %q is already declared in this service at %s; port names must be unique per service.", pname, prev.DefRange)
			e.failed = true
			continue
		}
		seenPort[pname] = nb.block
		pe := l.instEv(inst, nb.content.Attributes, nb.block.DefRange)
		listen, aListen := pe.str("listen")
		tport, aTP := pe.portString("target_port")
		via, _ := pe.str("via")
		via = strOr(via, spec.ViaForward)
		l.checkOneOf(pe, "via", via, vias, "via")
		proto, _ := pe.str("protocol")
		proto = strOr(proto, "tcp")
		l.checkOneOf(pe, "protocol", proto, protocols, "protocol")
		pp, aPP := pe.boolean("proxy_protocol")
		pe.str("description") // for humans only, like the service's

		if pe.failed || aListen == nil { // a missing listen was reported by the schema
			e.failed = true
			continue
		}
		addr, lports, problem := parseListen(listen)
		if problem != "" {
			l.errorf(aListen.Expr.Range().Ptr(), "Invalid listen address", "The listen value %s %s.", quoted(listen), problem)
			e.failed = true
			continue
		}
		targetPort := portsString(lports)
		if aTP != nil {
			tps, err := parsePorts(tport)
			if err != nil {
				l.errorf(aTP.Expr.Range().Ptr(), "Invalid port", "target_port: %s.", err)
				e.failed = true
				continue
			}
			if n := portCount(tps); n != 1 && n != portCount(lports) {
				l.errorf(aTP.Expr.Range().Ptr(), "Mismatched port ranges",
					"target_port has %d ports but listen has %d; give one target port, or a range of the same size.", n, portCount(lports))
				e.failed = true
				continue
			}
			targetPort = portsString(tps)
		}
		if addr.IsUnspecified() && via != spec.ViaProxy {
			l.errorf(aListen.Expr.Range().Ptr(), "Wildcard listen address",
				"via = %s needs a concrete host address to listen on (a network forward or a NAT rule is bound to one address); %s means every address. Name the host address, e.g. \"203.0.113.10:%s\", or use via = \"proxy\".", quoted(via), addr, portsString(lports))
			e.failed = true
			continue
		}
		if addr.Is6() && via != spec.ViaProxy {
			// The target of a forward or NAT rule is the node's static
			// address, which is IPv4; LXD refuses rules that mix families.
			l.errorf(aListen.Expr.Range().Ptr(), "Mixed address families",
				"The listen address %s is IPv6, but via = %s sends the connection to the node's static IPv4 address, and LXD refuses a forward or NAT rule between IPv6 and IPv4. Listen on an IPv4 address, or use via = \"proxy\" (a proxy device connects across families).", addr, quoted(via))
			e.failed = true
			continue
		}
		if pp && via != spec.ViaProxy {
			l.errorf(aPP.Expr.Range().Ptr(), "proxy_protocol needs via = \"proxy\"",
				"Only a userspace proxy device can send the PROXY protocol header; with via = %s the connection is forwarded by the kernel. Set via = \"proxy\" or remove proxy_protocol.", quoted(via))
			e.failed = true
			continue
		}
		for _, t := range targets {
			n := t.n
			if (via == spec.ViaNAT || via == spec.ViaForward) && n.spec.IPv4 == "" {
				l.errorf(t.rng, "Node without static address",
					"%s (instance %q) has no static IPv4 address, which via = %s needs: the kernel forwards to a fixed address. Give one of its nic devices \"ipv4.address\" = \"...\" on a managed network, or use via = \"proxy\".", n.inst.addr, n.spec.Name, quoted(via))
				e.failed = true
				continue
			}
			if via == spec.ViaForward && n.spec.Network == "" {
				l.errorf(t.rng, "Node without network",
					"%s (instance %q) sets its address on nic %q, which has no \"network\"; via = \"forward\" creates a forward on that network. Attach the nic with \"network\" = network.NAME.name, or use via = \"nat\" or \"proxy\".", n.inst.addr, n.spec.Name, n.spec.NIC)
				e.failed = true
				continue
			}
			target := n.spec.IPv4
			res.exposures = append(res.exposures, &exposureResult{remote: n.remote, nodeRng: t.rng, listenRng: aListen.Expr.Range().Ptr(), spec: spec.Exposure{
				Service: name, Port: pname, Addr: fmt.Sprintf("%s.port[%q]", inst.addr, pname), Pos: posOf(nb.block.DefRange),
				Instance: n.spec.Name, Network: n.spec.Network, TargetAddress: target, Protocol: proto,
				ListenAddress: addr.String(), ListenPort: portsString(lports), TargetPort: targetPort, Via: via, ProxyProtocol: pp,
			}})
			lst := &listener{remote: n.remote, proto: proto, addr: addr, ports: lports, rng: aListen.Expr.Range().Ptr(),
				what: fmt.Sprintf("%s.port[%q] on %s", inst.addr, pname, n.inst.addr),
				port: fmt.Sprintf("%s.port[%q]", inst.addr, pname), node: n.inst.addr, nodeInst: n.inst}
			if via == spec.ViaForward {
				lst.network = n.spec.Network
			}
			l.listeners = append(l.listeners, lst)
		}
	}
	if ports == 0 && !e.failed {
		l.errorf(e.def.Ptr(), "Missing port block", "A service needs at least one port block, like port \"http\" { listen = \"203.0.113.10:80\" }.")
		e.failed = true
	}
	if e.failed {
		return cty.NilVal
	}
	l.services = append(l.services, res)
	return cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(name)})
}

func portsString(rs []portRange) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}

func (l *loader) evalForward(inst *instance) cty.Value {
	e := l.instEv(inst, inst.d.content.Attributes, inst.d.block.DefRange)
	if a, ok := e.attrs["name"]; ok {
		l.errorf(a.NameRange.Ptr(), "Unsupported argument",
			"A network forward has no name of its own in LXD: it is identified by its network and listen_address. Remove name.")
		e.failed = true
	}
	netV, aNet := e.get("network")
	listen, aListen := e.str("listen_address")
	defTarget, aDT := e.str("target_address")
	desc, _ := e.str("description")
	meta := l.meta(e, inst)
	if e.bad["network"] || e.bad["listen_address"] || netV == cty.NilVal || aListen == nil {
		return cty.NilVal // missing required arguments were reported by the schema
	}
	netName, ok := nameOf(netV)
	if !ok {
		if holdsObjects(netV, "name", "remote", "type", "config") && !holdsObjects(netV, "image") { // not nodes
			src := l.sourceText(aNet.Expr.Range().Ptr())
			l.errorf(aNet.Expr.Range().Ptr(), "Invalid network reference",
				"%s holds several networks (its block has for_each or count); a forward is on one: pick it, like %s[\"KEY\"] or %s[0].", src, src, src)
			return cty.NilVal
		}
		e.typeError(aNet, "network (network.NAME or a network name)")
		return cty.NilVal
	}
	var remote string
	if netV.Type().IsObjectType() && netV.Type().HasAttribute("remote") {
		rv := netV.GetAttr("remote")
		if rv.Type() != cty.String || rv.IsNull() {
			e.typeError(aNet, "network (network.NAME or a network name)")
			return cty.NilVal
		}
		remote = rv.AsString()
		if r, a := e.get("remote"); a != nil && r != cty.NilVal {
			if rn, ok := nameOf(r); ok && rn != remote {
				l.errorf(a.Expr.Range().Ptr(), "Conflicting remote",
					"The forward's network %s is on remote %q, but remote says %q. Remove remote: it follows from the network.", netName, remote, rn)
				return cty.NilVal
			}
		}
	} else {
		var rok bool
		if remote, _, rok = l.remoteOf(e, inst); !rok {
			return cty.NilVal
		}
	}
	addr, err := netip.ParseAddr(listen)
	if err != nil || addr.Zone() != "" {
		l.errorf(aListen.Expr.Range().Ptr(), "Invalid listen address",
			"listen_address must be one IP address on the host, such as \"203.0.113.10\" (no port, no prefix length); got %s.", quoted(listen))
		return cty.NilVal
	}
	if addr.IsUnspecified() {
		l.errorf(aListen.Expr.Range().Ptr(), "Wildcard listen address",
			"A network forward listens on one specific host address; %s means every address. Name the address (e.g. a floating IP).", addr)
		return cty.NilVal
	}
	if aDT != nil && defTarget != "" {
		if ip, err := netip.ParseAddr(defTarget); err != nil || ip.Is4() != addr.Is4() {
			l.errorf(aDT.Expr.Range().Ptr(), "Invalid target address",
				"target_address must be an IP address of the same family as listen_address; got %s.", quoted(defTarget))
			return cty.NilVal
		}
	}
	f := spec.Forward{Meta: meta, Network: netName, ListenAddress: addr.String(), Description: desc, DefaultTarget: defTarget}
	res := &forwardResult{inst: inst, remote: remote, listenRng: aListen.Expr.Range().Ptr()}
	if aDT != nil {
		res.defaultRng = aDT.Expr.Range().Ptr()
	}
	ok = true
	for _, nb := range inst.d.nested {
		if nb.block.Type != "port" {
			continue
		}
		fp, lst, tRng := l.evalForwardPort(inst, nb, remote, netName, addr)
		if fp == nil {
			ok = false
			continue
		}
		if defTarget != "" && fp.TargetAddress == defTarget {
			l.errorf(tRng, "Port target is the default target",
				"This port targets %s, which is already the forward's target_address (the default target, which receives every port no port block names). LXD refuses a port whose target is the default target: remove the port block, or point it at another address.", defTarget)
			ok = false
			continue
		}
		f.Ports = append(f.Ports, *fp)
		res.targetRngs = append(res.targetRngs, tRng)
		l.listeners = append(l.listeners, lst)
	}
	if !ok || e.failed {
		return cty.NilVal
	}
	res.spec = f
	l.forwards = append(l.forwards, res)
	return cty.ObjectVal(map[string]cty.Value{
		"network": cty.StringVal(netName), "remote": cty.StringVal(remote), "listen_address": cty.StringVal(f.ListenAddress),
	})
}

// evalForwardPort evaluates a port block of a forward; it also returns where
// the port's target is written.
func (l *loader) evalForwardPort(inst *instance, nb *nestedBlock, remote, network string, listen netip.Addr) (*spec.ForwardPort, *listener, *hcl.Range) {
	pe := l.instEv(inst, nb.content.Attributes, nb.block.DefRange)
	proto, _ := pe.str("protocol")
	proto = strOr(proto, "tcp")
	l.checkOneOf(pe, "protocol", proto, protocols, "protocol")
	lp, aLP := pe.portString("listen_port")
	ta, aTA := pe.str("target_address")
	tv, aT := pe.get("target")
	tp, aTP := pe.portString("target_port")
	desc, _ := pe.str("description")
	if pe.failed || aLP == nil {
		return nil, nil, nil
	}
	lports, err := parseListenPorts(lp)
	if err != nil {
		l.errorf(aLP.Expr.Range().Ptr(), "Invalid port", "listen_port: %s. Write a port (\"80\"), a list (\"80,443\") or a range (\"8000-8010\").", err)
		return nil, nil, nil
	}
	fp := &spec.ForwardPort{Pos: posOf(nb.block.DefRange), Description: desc, Protocol: proto, ListenPort: portsString(lports)}
	tRng := nb.block.DefRange.Ptr()
	switch {
	case aT != nil:
		tRng = aT.Expr.Range().Ptr()
	case aTA != nil:
		tRng = aTA.Expr.Range().Ptr()
	}
	switch {
	case aTA != nil && aT != nil:
		l.errorf(aT.NameRange.Ptr(), "Conflicting arguments", "Use either target_address or target (a node), not both.")
		return nil, nil, nil
	case aT != nil:
		if tv == cty.NilVal {
			l.errorf(aT.Expr.Range().Ptr(), "Missing target", "target is null; refer to a node block, like node.web1.")
			return nil, nil, nil
		}
		n, ok := l.resolveNode(tv, aT.Expr.Range().Ptr())
		if !ok {
			return nil, nil, nil
		}
		switch {
		case n.remote != remote:
			l.errorf(aT.Expr.Range().Ptr(), "Target on another remote",
				"%s is on remote %q but this forward is on remote %q; a forward can only reach instances of its own LXD server.", n.inst.addr, n.remote, remote)
			return nil, nil, nil
		case n.spec.IPv4 == "":
			l.errorf(aT.Expr.Range().Ptr(), "Node without static address",
				"%s (instance %q) has no static IPv4 address for the forward to point at. Give its nic device \"ipv4.address\" = \"...\" on network %q, or write target_address.", n.inst.addr, n.spec.Name, network)
			return nil, nil, nil
		case n.spec.Network != "" && n.spec.Network != network:
			l.errorf(aT.Expr.Range().Ptr(), "Target not on the forward's network",
				"%s has its static address on network %q, but this forward is on network %q; LXD forwards only to addresses of the forward's own network.", n.inst.addr, n.spec.Network, network)
			return nil, nil, nil
		}
		fp.TargetAddress, fp.TargetNode = n.spec.IPv4, n.spec.Name
	case aTA != nil:
		ip, err := netip.ParseAddr(ta)
		if err != nil || ip.Zone() != "" {
			l.errorf(aTA.Expr.Range().Ptr(), "Invalid target address", "target_address must be one IP address, such as \"10.231.5.10\"; got %s.", quoted(ta))
			return nil, nil, nil
		}
		fp.TargetAddress = ip.String()
	default:
		l.errorf(nb.block.DefRange.Ptr(), "Missing target", "Each forward port needs target_address = \"10.x.y.z\" or target = node.NAME.")
		return nil, nil, nil
	}
	if ip, err := netip.ParseAddr(fp.TargetAddress); err == nil && ip.Is4() != listen.Is4() {
		l.errorf(nb.block.DefRange.Ptr(), "Mixed address families",
			"The forward listens on %s but the port targets %s; listen and target addresses must both be IPv4 or both IPv6.", listen, ip)
		return nil, nil, nil
	}
	if aTP != nil {
		tps, err := parsePorts(tp)
		if err != nil {
			l.errorf(aTP.Expr.Range().Ptr(), "Invalid port", "target_port: %s.", err)
			return nil, nil, nil
		}
		if n := portCount(tps); n != 1 && n != portCount(lports) {
			l.errorf(aTP.Expr.Range().Ptr(), "Mismatched port ranges",
				"target_port has %d ports but listen_port has %d; give one target port, or ranges of the same size.", n, portCount(lports))
			return nil, nil, nil
		}
		fp.TargetPort = portsString(tps)
	}
	lst := &listener{remote: remote, proto: proto, addr: listen, ports: lports, rng: aLP.Expr.Range().Ptr(),
		what: fmt.Sprintf("%s port %s", inst.addr, fp.ListenPort), network: network}
	return fp, lst, tRng
}
