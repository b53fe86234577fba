package config

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/zclconf/go-cty/cty"
)

// Services and forwards: what exposes a node's port on a host address.

func (l *loader) evalService(inst *instance) (cty.Value, hcl.Diagnostics) {
	e := l.instEv(inst)
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
		e.errorf(aNodes.NameRange.Ptr(), "Conflicting arguments", "Use either node (one node) or nodes (a list), not both.")
		e.failed = true
	case aNode == nil && aNodes == nil:
		e.errorf(e.def.Ptr(), "Missing node",
			"A service needs node = node.NAME, or nodes = [node.a, node.b] (values(node.web) for every instance of a for_each node block).")
		e.failed = true
	case aNode != nil:
		if nodeV == cty.NilVal {
			e.errorf(aNode.Expr.Range().Ptr(), "Missing node", "node is null; refer to a node block, like node.web1.")
			e.failed = true
		} else if n, ok := l.resolveNode(e, nodeV, aNode.Expr.Range().Ptr()); ok {
			targets = append(targets, target{n, aNode.Expr.Range().Ptr()})
		} else {
			e.failed = true
		}
	default:
		if len(nodesV) == 0 {
			e.errorf(aNodes.Expr.Range().Ptr(), "Missing node", "nodes is empty; a service needs at least one node.")
			e.failed = true
		}
		for _, v := range nodesV {
			if v.IsNull() {
				continue
			}
			if n, ok := l.resolveNode(e, v, aNodes.Expr.Range().Ptr()); ok {
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
			e.errorf(nb.block.LabelRanges[0].Ptr(), "Invalid port name", "The port name %q %s.", pname, p)
			e.failed = true
			continue
		}
		if prev, dup := seenPort[pname]; dup {
			e.errorf(nb.block.LabelRanges[0].Ptr(), "Duplicate port block",
				"A port named %q is already declared in this service at %s; port names must be unique per service.", pname, prev.DefRange)
			e.failed = true
			continue
		}
		seenPort[pname] = nb.block
		pe := e.nested(nb.content.Attributes, nb.block.DefRange)
		listen, aListen := pe.str("listen")
		pe.namesObject("listen")
		tport, aTP := pe.portString("target_port")
		via, _ := pe.str("via")
		via = strOr(via, spec.ViaForward)
		l.checkOneOf(pe, "via", via, vias, "via")
		proto, _ := pe.str("protocol")
		proto = strOr(proto, spec.DefaultProtocol)
		l.checkOneOf(pe, "protocol", proto, protocols, "protocol")
		pp, aPP := pe.boolean("proxy_protocol")
		pe.str("description") // for humans only, like the service's

		if pe.failed || aListen == nil { // a missing listen was reported by the schema
			e.failed = true
			continue
		}
		addr, lports, problem := parseListen(listen)
		if problem != "" {
			e.errorf(aListen.Expr.Range().Ptr(), "Invalid listen address", "The listen value %s %s.", quoted(listen), problem)
			e.failed = true
			continue
		}
		targetPort := portsString(lports)
		if aTP != nil {
			tps, err := parsePorts(tport)
			if err != nil {
				e.errorf(aTP.Expr.Range().Ptr(), "Invalid port", "target_port: %s.", err)
				e.failed = true
				continue
			}
			if n := portCount(tps); n != 1 && n != portCount(lports) {
				e.errorf(aTP.Expr.Range().Ptr(), "Mismatched port ranges",
					"target_port has %d ports but listen has %d; give one target port, or a range of the same size.", n, portCount(lports))
				e.failed = true
				continue
			}
			targetPort = portsString(tps)
		}
		if addr.IsUnspecified() && via != spec.ViaProxy {
			e.errorf(aListen.Expr.Range().Ptr(), "Wildcard listen address",
				"via = %s needs a concrete host address to listen on (a network forward or a NAT rule is bound to one address); %s means every address. Name the host address, e.g. \"203.0.113.10:%s\", or use via = \"proxy\".", quoted(via), addr, portsString(lports))
			e.failed = true
			continue
		}
		if addr.Is6() && via != spec.ViaProxy {
			// The target of a forward or NAT rule is the node's static
			// address, which is IPv4; LXD refuses rules that mix families.
			e.errorf(aListen.Expr.Range().Ptr(), "Mixed address families",
				"The listen address %s is IPv6, but via = %s sends the connection to the node's static IPv4 address, and LXD refuses a forward or NAT rule between IPv6 and IPv4. Listen on an IPv4 address, or use via = \"proxy\" (a proxy device connects across families).", addr, quoted(via))
			e.failed = true
			continue
		}
		if pp && via != spec.ViaProxy {
			e.errorf(aPP.Expr.Range().Ptr(), "proxy_protocol needs via = \"proxy\"",
				"Only a userspace proxy device can send the PROXY protocol header; with via = %s the connection is forwarded by the kernel. Set via = \"proxy\" or remove proxy_protocol.", quoted(via))
			e.failed = true
			continue
		}
		for _, t := range targets {
			n := t.n
			if (via == spec.ViaNAT || via == spec.ViaForward) && n.spec.IPv4 == "" {
				e.errorf(t.rng, "Node without static address",
					"%s (instance %q) has no static IPv4 address, which via = %s needs: the kernel forwards to a fixed address. Give one of its nic devices \"ipv4.address\" = \"...\" on a managed network, or use via = \"proxy\".", n.inst.addr, n.spec.Name, quoted(via))
				e.failed = true
				continue
			}
			if via == spec.ViaForward && n.spec.Network == "" {
				e.errorf(t.rng, "Node without network",
					"%s (instance %q) sets its address on nic %q, which has no \"network\"; via = \"forward\" creates a forward on that network. Attach the nic with \"network\" = network.NAME.name, or use via = \"nat\" or \"proxy\".", n.inst.addr, n.spec.Name, n.spec.NIC)
				e.failed = true
				continue
			}
			target := n.spec.IPv4
			res.exposures = append(res.exposures, &exposureResult{remote: n.remote, nodeRng: t.rng, listenRng: aListen.Expr.Range().Ptr(), spec: spec.Exposure{
				Service: name, Port: pname, Addr: fmt.Sprintf("%s.port[%q]", inst.addr, pname), ServiceAddr: inst.addr, Pos: posOf(nb.block.DefRange),
				Instance: n.spec.Name, Network: n.spec.Network, TargetAddress: target, Protocol: proto,
				ListenAddress: addr.String(), ListenPort: portsString(lports), TargetPort: targetPort, Via: via, ProxyProtocol: pp,
			}})
			lst := &listener{remote: n.remote, proto: proto, addr: addr, ports: lports, rng: aListen.Expr.Range().Ptr(),
				what: fmt.Sprintf("%s.port[%q] on %s", inst.addr, pname, n.inst.addr),
				port: fmt.Sprintf("%s.port[%q]", inst.addr, pname), node: n.inst.addr, nodeInst: n.inst, member: n.spec.Target}
			if via == spec.ViaForward {
				lst.network = n.spec.Network
			}
			l.listeners = append(l.listeners, lst)
		}
	}
	if ports == 0 && !e.failed {
		e.errorf(e.def.Ptr(), "Missing port block", "A service needs at least one port block, like port \"http\" { listen = \"203.0.113.10:80\" }.")
		e.failed = true
	}
	if e.failed {
		return cty.NilVal, *e.diags
	}
	l.services = append(l.services, res)
	return cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(name)}), *e.diags
}

func portsString(rs []portRange) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}

func (l *loader) evalForward(inst *instance) (cty.Value, hcl.Diagnostics) {
	e := l.instEv(inst)
	if a, ok := e.attrs["name"]; ok {
		e.errorf(a.NameRange.Ptr(), "Unsupported argument",
			"A network forward has no name of its own in LXD: it is identified by its network and listen_address. Remove name.")
		e.failed = true
	}
	netV, aNet := e.getRef("network")
	listen, aListen := e.str("listen_address")
	e.namesObject("listen_address")
	defTarget, aDT := e.str("target_address")
	member, aMember := e.str("target")
	desc, _ := e.str("description")
	meta := l.meta(e, inst)
	if e.bad["network"] || e.bad["listen_address"] || netV == cty.NilVal || aListen == nil {
		return cty.NilVal, *e.diags // missing required arguments were reported by the schema
	}
	netName, ok := nameOf(netV)
	if !ok {
		if holdsObjects(netV, "name", "remote", "type", "config") && !holdsObjects(netV, "image") { // not nodes
			src := l.sourceText(aNet.Expr.Range().Ptr())
			e.errorf(aNet.Expr.Range().Ptr(), "Invalid network reference",
				"%s holds several networks (its block has for_each or count); a forward is on one: pick it, like %s[\"KEY\"] or %s[0].", src, src, src)
			return cty.NilVal, *e.diags
		}
		e.typeError(aNet, "network (network.NAME or a network name)")
		return cty.NilVal, *e.diags
	}
	var remote string
	if netV.Type().IsObjectType() && netV.Type().HasAttribute("remote") {
		rv := netV.GetAttr("remote")
		if rv.Type() != cty.String || rv.IsNull() {
			e.typeError(aNet, "network (network.NAME or a network name)")
			return cty.NilVal, *e.diags
		}
		remote = rv.AsString()
		if r, a := e.get("remote"); a != nil && r != cty.NilVal {
			if rn, ok := nameOf(r); ok && rn != remote {
				e.errorf(a.Expr.Range().Ptr(), "Conflicting remote",
					"The forward's network %s is on remote %q, but remote says %q. Remove remote: it follows from the network.", netName, remote, rn)
				return cty.NilVal, *e.diags
			}
		}
	} else {
		var rok bool
		if remote, _, rok = l.remoteOf(e, inst); !rok {
			return cty.NilVal, *e.diags
		}
	}
	addr, err := netip.ParseAddr(listen)
	if err != nil || addr.Zone() != "" {
		e.errorf(aListen.Expr.Range().Ptr(), "Invalid listen address",
			"listen_address must be one IP address on the host, such as \"203.0.113.10\" (no port, no prefix length); got %s.", quoted(listen))
		return cty.NilVal, *e.diags
	}
	if addr.IsUnspecified() {
		e.errorf(aListen.Expr.Range().Ptr(), "Wildcard listen address",
			"A network forward listens on one specific host address; %s means every address. Name the address (e.g. a floating IP).", addr)
		return cty.NilVal, *e.diags
	}
	if aDT != nil && defTarget != "" {
		if ip, err := netip.ParseAddr(defTarget); err != nil || ip.Is4() != addr.Is4() {
			e.errorf(aDT.Expr.Range().Ptr(), "Invalid target address",
				"target_address must be an IP address of the same family as listen_address; got %s.", quoted(defTarget))
			return cty.NilVal, *e.diags
		}
	}
	f := spec.Forward{Meta: meta, Network: netName, ListenAddress: addr.String(), Description: desc, DefaultTarget: defTarget}
	f.Sensitive = sensitiveFields(e, nil, nil)
	if e.sensitive("target_address") && defTarget != "" {
		if f.Sensitive == nil {
			f.Sensitive = map[string]bool{}
		}
		f.Sensitive["config.target_address"] = true
	}
	res := &forwardResult{inst: inst, remote: remote, listenRng: aListen.Expr.Range().Ptr()}
	if aDT != nil {
		res.defaultRng = aDT.Expr.Range().Ptr()
	}
	ok = true
	pl := placement{member: member, rng: aMember}
	var lsts []*listener
	for _, nb := range inst.d.nested {
		if nb.block.Type != "port" {
			continue
		}
		fp, lst, tRng := l.evalForwardPort(e, inst, nb, remote, netName, addr)
		if fp == nil {
			ok = false
			continue
		}
		if !l.place(&pl, lst, tRng) {
			ok = false
			continue
		}
		lsts = append(lsts, lst)
		if defTarget != "" && fp.TargetAddress == defTarget {
			e.errorf(tRng, "Port target is the default target",
				"This port targets %s, which is already the forward's target_address (the default target, which receives every port no port block names). LXD refuses a port whose target is the default target: remove the port block, or point it at another address.", defTarget)
			ok = false
			continue
		}
		f.Ports = append(f.Ports, *fp)
		res.targetRngs = append(res.targetRngs, tRng)
		l.listeners = append(l.listeners, lst)
	}
	if !ok || e.failed {
		return cty.NilVal, *e.diags
	}
	f.Target = pl.member
	for _, lst := range lsts {
		lst.member = pl.member
	}
	res.spec = f
	l.forwards = append(l.forwards, res)
	return cty.ObjectVal(map[string]cty.Value{
		"network": cty.StringVal(netName), "remote": cty.StringVal(remote), "listen_address": cty.StringVal(f.ListenAddress),
	}), *e.diags
}

// evalForwardPort evaluates a port block of a forward; it also returns where
// the port's target is written.
func (l *loader) evalForwardPort(parent *ev, inst *instance, nb *nestedBlock, remote, network string, listen netip.Addr) (*spec.ForwardPort, *listener, *hcl.Range) {
	pe := parent.nested(nb.content.Attributes, nb.block.DefRange)
	proto, _ := pe.str("protocol")
	proto = strOr(proto, spec.DefaultProtocol)
	l.checkOneOf(pe, "protocol", proto, protocols, "protocol")
	lp, aLP := pe.portString("listen_port")
	ta, aTA := pe.str("target_address")
	tv, aT := pe.get("target")
	tp, aTP := pe.portString("target_port")
	desc, _ := pe.str("description")
	if pe.failed || aLP == nil {
		return nil, nil, nil
	}
	var nodeAddr, nodeMember string // the target node and its member, if any
	lports, err := parseListenPorts(lp)
	if err != nil {
		pe.errorf(aLP.Expr.Range().Ptr(), "Invalid port", "listen_port: %s. Write a port (\"80\"), a list (\"80,443\") or a range (\"8000-8010\").", err)
		return nil, nil, nil
	}
	fp := &spec.ForwardPort{Pos: posOf(nb.block.DefRange), Description: desc, Protocol: proto, ListenPort: portsString(lports),
		Sensitive: pe.sensitive("description") || pe.sensitive("target_address") || pe.sensitive("target_port")}
	tRng := nb.block.DefRange.Ptr()
	switch {
	case aT != nil:
		tRng = aT.Expr.Range().Ptr()
	case aTA != nil:
		tRng = aTA.Expr.Range().Ptr()
	}
	switch {
	case aTA != nil && aT != nil:
		pe.errorf(aT.NameRange.Ptr(), "Conflicting arguments", "Use either target_address or target (a node), not both.")
		return nil, nil, nil
	case aT != nil:
		if tv == cty.NilVal {
			pe.errorf(aT.Expr.Range().Ptr(), "Missing target", "target is null; refer to a node block, like node.web1.")
			return nil, nil, nil
		}
		n, ok := l.resolveNode(pe, tv, aT.Expr.Range().Ptr())
		if !ok {
			return nil, nil, nil
		}
		switch {
		case n.remote != remote:
			pe.errorf(aT.Expr.Range().Ptr(), "Target on another remote",
				"%s is on remote %q but this forward is on remote %q; a forward can only reach instances of its own LXD server.", n.inst.addr, n.remote, remote)
			return nil, nil, nil
		case n.spec.IPv4 == "":
			pe.errorf(aT.Expr.Range().Ptr(), "Node without static address",
				"%s (instance %q) has no static IPv4 address for the forward to point at. Give its nic device \"ipv4.address\" = \"...\" on network %q, or write target_address.", n.inst.addr, n.spec.Name, network)
			return nil, nil, nil
		case n.spec.Network != "" && n.spec.Network != network:
			pe.errorf(aT.Expr.Range().Ptr(), "Target not on the forward's network",
				"%s has its static address on network %q, but this forward is on network %q; LXD forwards only to addresses of the forward's own network.", n.inst.addr, n.spec.Network, network)
			return nil, nil, nil
		}
		fp.TargetAddress, fp.TargetNode = n.spec.IPv4, n.spec.Name
		nodeAddr, nodeMember = n.inst.addr, n.spec.Target
	case aTA != nil:
		ip, err := netip.ParseAddr(ta)
		if err != nil || ip.Zone() != "" {
			pe.errorf(aTA.Expr.Range().Ptr(), "Invalid target address", "target_address must be one IP address, such as \"10.231.5.10\"; got %s.", quoted(ta))
			return nil, nil, nil
		}
		fp.TargetAddress = ip.String()
	default:
		pe.errorf(nb.block.DefRange.Ptr(), "Missing target", "Each forward port needs target_address = \"10.x.y.z\" or target = node.NAME.")
		return nil, nil, nil
	}
	if ip, err := netip.ParseAddr(fp.TargetAddress); err == nil && ip.Is4() != listen.Is4() {
		pe.errorf(nb.block.DefRange.Ptr(), "Mixed address families",
			"The forward listens on %s but the port targets %s; listen and target addresses must both be IPv4 or both IPv6.", listen, ip)
		return nil, nil, nil
	}
	if aTP != nil {
		tps, err := parsePorts(tp)
		if err != nil {
			pe.errorf(aTP.Expr.Range().Ptr(), "Invalid port", "target_port: %s.", err)
			return nil, nil, nil
		}
		if n := portCount(tps); n != 1 && n != portCount(lports) {
			pe.errorf(aTP.Expr.Range().Ptr(), "Mismatched port ranges",
				"target_port has %d ports but listen_port has %d; give one target port, or ranges of the same size.", n, portCount(lports))
			return nil, nil, nil
		}
		fp.TargetPort = portsString(tps)
	}
	lst := &listener{remote: remote, proto: proto, addr: listen, ports: lports, rng: aLP.Expr.Range().Ptr(),
		what: fmt.Sprintf("%s port %s", inst.addr, fp.ListenPort), network: network, node: nodeAddr, member: nodeMember}
	return fp, lst, tRng
}
