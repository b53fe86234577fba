package config

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// The checks below compare addresses across objects with the subnets of the
// managed networks declared in the configuration: LXD refuses each of these
// at apply, after other changes may have been made. A network that is not
// declared (or whose address is "auto" or "none") tells nothing, and is
// not checked against.

// subnet is a declared network's gateway address with its prefix length.
type subnet struct {
	gw  netip.Prefix
	net *networkResult
}

func (s subnet) String() string { return s.gw.Masked().String() }

// subnets maps "remote/network" to the declared subnets of each network
// (IPv4 and IPv6).
func (l *loader) subnets() map[string][]subnet {
	out := map[string][]subnet{}
	for _, n := range l.networks {
		for _, k := range []string{"ipv4.address", "ipv6.address"} {
			p, err := netip.ParsePrefix(n.spec.Config[k])
			if err != nil || cidrProblem(n.spec.Config[k], k == "ipv6.address") != "" {
				continue
			}
			key := n.remote + "/" + n.spec.Name
			out[key] = append(out[key], subnet{gw: p, net: n})
		}
	}
	return out
}

// subnetFor returns the subnet of a network for an address's family.
func subnetFor(list []subnet, a netip.Addr) (subnet, bool) {
	for _, s := range list {
		if s.gw.Addr().Is4() == a.Is4() {
			return s, true
		}
	}
	return subnet{}, false
}

// addressProblem says why a is no address for an instance on subnet s, or
// "". LXD 5.0 refuses an address outside the subnet and the gateway
// (verified in lxd_refuses_integration_test.go); it accepts the network and
// broadcast addresses, but no instance can use them, so validate refuses
// them too and says so.
func addressProblem(a netip.Addr, s subnet) string {
	p := s.gw.Masked()
	switch {
	case !p.Contains(a):
		return fmt.Sprintf("is outside the subnet %s of network %q; LXD refuses it", p, s.net.spec.Name)
	case a == s.gw.Addr():
		return fmt.Sprintf("is the gateway address of network %q, the host's own address on it; LXD refuses it", s.net.spec.Name)
	case a == p.Addr() && p.Bits() < a.BitLen()-1:
		return fmt.Sprintf("is the network address of the subnet %s of network %q; LXD accepts it, but it is not a usable host address", p, s.net.spec.Name)
	case a.Is4() && p.Bits() < 31 && a == lastAddr(p):
		return fmt.Sprintf("is the broadcast address of the subnet %s of network %q; LXD accepts it, but it is not a usable host address (traffic to it goes to every host on the network)", p, s.net.spec.Name)
	}
	return ""
}

// lastAddr is the highest address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// declaredNetworks maps "remote/network" to the declared network.
func (l *loader) declaredNetworks() map[string]*networkResult {
	out := map[string]*networkResult{}
	for _, n := range l.networks {
		if _, dup := out[n.remote+"/"+n.spec.Name]; !dup {
			out[n.remote+"/"+n.spec.Name] = n
		}
	}
	return out
}

// noFamily says why a declared network has no addresses of a's family
// ("ipv4.address = none"), or "".
func noFamily(n *networkResult, a netip.Addr) string {
	k := "ipv4.address"
	if a.Is6() {
		k = "ipv6.address"
	}
	if n != nil && n.spec.Config[k] == "none" {
		return fmt.Sprintf("network %q has no %s subnet (%s = \"none\")", n.spec.Name, map[bool]string{true: "IPv4", false: "IPv6"}[a.Is4()], k)
	}
	return ""
}

// staticWithoutDHCP says why LXD refuses a static IPv4 address on a nic of
// bridge n (it hands static addresses out by DHCP) and what to do, or "".
func staticWithoutDHCP(n *networkResult, dev map[string]string) string {
	if n == nil || n.spec.Type != "bridge" || isTrue(dev["security.ipv4_filtering"]) {
		return ""
	}
	switch {
	case n.spec.Config["ipv4.address"] == "none":
		return fmt.Sprintf("network %q has no IPv4 subnet (ipv4.address = \"none\"), so no DHCP to hand it out; LXD refuses the nic. Give the network an IPv4 subnet", n.spec.Name)
	case isFalse(n.spec.Config["ipv4.dhcp"]):
		return fmt.Sprintf("network %q has ipv4.dhcp = false, and LXD hands static addresses out by DHCP; LXD refuses the nic. Enable DHCP on the network (remove ipv4.dhcp = false)", n.spec.Name)
	}
	return ""
}

func isFalse(s string) bool {
	switch strings.ToLower(s) {
	case "false", "0", "no", "off":
		return true
	}
	return false
}

// checkAddresses reports static nic addresses outside (or reserved in) the
// subnet of their declared network, one static address on two nodes of one
// network, and forward targets outside the forward network's subnet; it
// warns about forward listen addresses inside another declared network.
func (l *loader) checkAddresses() {
	subnets, declared := l.subnets(), l.declaredNetworks()
	type owner struct {
		node *nodeResult
		rng  *hcl.Range
	}
	taken := map[string]owner{} // remote/network/address -> first node with it
	for _, n := range l.nodes {
		for _, nb := range n.inst.d.nested {
			if nb.block.Type != "device" {
				continue
			}
			dev, a := n.spec.Devices[nb.block.Labels[0]], nb.content.Attributes["properties"]
			if dev["type"] != "nic" || dev["network"] == "" || a == nil {
				continue
			}
			for _, k := range []string{"ipv4.address", "ipv6.address"} {
				ip, err := netip.ParseAddr(dev[k])
				if err != nil {
					continue
				}
				rng := valueRange(a, n.inst.ctx, k)
				key := n.remote + "/" + dev["network"]
				if p := staticWithoutDHCP(declared[key], dev); p != "" && k == "ipv4.address" {
					l.errorf(rng, "Static address without DHCP",
						"%s sets \"ipv4.address\" = %s on nic %q, but %s, or set \"security.ipv4_filtering\" = true on the nic.",
						n.inst.addr, ip, nb.block.Labels[0], p)
					continue
				}
				if s, ok := subnetFor(subnets[key], ip); ok {
					if p := addressProblem(ip, s); p != "" {
						l.errorf(rng, "Address not usable on the network",
							"%s sets %q = %s on nic %q, which %s. Choose an address inside %s (%s, %s%s) other than the gateway %s.",
							n.inst.addr, k, ip, nb.block.Labels[0], p, s, s.net.inst.addr, s.net.inst.d.block.DefRange, l.onRemote(n.remote), s.gw.Addr())
						continue
					}
				}
				if prev, dup := taken[key+"/"+ip.String()]; dup && prev.node.spec.Name != n.spec.Name {
					l.errorf(rng, "Duplicate static address",
						"%s (%s) and %s both set %s on network %q%s; one address belongs to one instance, and LXD refuses the second. Give each node its own address.",
						prev.node.inst.addr, prev.rng, n.inst.addr, ip, dev["network"], l.onRemote(n.remote))
					continue
				}
				taken[key+"/"+ip.String()] = owner{n, rng}
			}
		}
	}
	for _, f := range l.forwards {
		key := f.remote + "/" + f.spec.Network
		listen, err := netip.ParseAddr(f.spec.ListenAddress)
		if err != nil {
			continue
		}
		if p := noFamily(declared[key], listen); p != "" {
			l.errorf(f.listenRng, "Network without that address family",
				"%s listens on %s, but %s; LXD refuses the forward. Give the network a subnet of that family, or listen on an address of the other.", f.inst.addr, listen, p)
			continue
		}
		if s, ok := subnetFor(subnets[key], listen); ok {
			targets := []struct {
				addr string
				rng  *hcl.Range
				what string
			}{{f.spec.DefaultTarget, f.defaultRng, "The default target_address"}}
			for i, p := range f.spec.Ports {
				if p.TargetNode == "" { // a node's address is checked on its nic
					targets = append(targets, struct {
						addr string
						rng  *hcl.Range
						what string
					}{p.TargetAddress, f.targetRngs[i], "The port's target_address"})
				}
			}
			for _, t := range targets {
				ip, err := netip.ParseAddr(t.addr)
				if err != nil || t.rng == nil {
					continue
				}
				if !s.gw.Masked().Contains(ip) {
					l.errorf(t.rng, "Target not on the forward's network",
						"%s %s is outside the subnet %s of network %q; a forward reaches only addresses of its own network, and LXD refuses it. Choose an address inside %s.",
						t.what, ip, s, f.spec.Network, s)
				}
			}
		}
		l.checkListenSubnet(subnets, f.remote, f.spec.Network, listen, f.listenRng, f.inst.addr)
	}
	for _, s := range l.services {
		for _, x := range s.exposures {
			if x.spec.Via != "forward" {
				continue
			}
			ip, err := netip.ParseAddr(x.spec.ListenAddress)
			if err != nil {
				continue
			}
			if p := noFamily(declared[x.remote+"/"+x.spec.Network], ip); p != "" {
				l.errorf(x.listenRng, "Network without that address family",
					"%s exposes %s with via = \"forward\" on %s, but %s; LXD refuses the forward. Give the network a subnet of that family, or use via = \"proxy\".", s.inst.addr, x.spec.Instance, ip, p)
				continue
			}
			l.checkListenSubnet(subnets, x.remote, x.spec.Network, ip, x.listenRng, s.inst.addr)
		}
	}
}

// checkListenSubnet warns about a forward listen address inside the subnet
// of a declared network other than the forward's own. LXD 5.0 accepts it
// (verified in lxd_refuses_integration_test.go; what it refuses is one
// listen address on two networks, checked in checkListeners), but the
// address belongs to that network's instances, so it is most likely a
// mistake (an instance address written as the listen address).
func (l *loader) checkListenSubnet(subnets map[string][]subnet, remote, network string, listen netip.Addr, rng *hcl.Range, who string) {
	if rng == nil {
		return
	}
	for _, key := range sortedKeys(subnets) {
		list := subnets[key]
		r, name, _ := strings.Cut(key, "/")
		if r != remote || name == network {
			continue
		}
		if s, ok := subnetFor(list, listen); ok && s.gw.Masked().Contains(listen) {
			l.add(&hcl.Diagnostic{Severity: hcl.DiagWarning, Subject: rng, Summary: "Listen address inside another network",
				Detail: fmt.Sprintf("%s listens on %s through network %q, but %s is inside the subnet %s of network %q (%s), where it is an instance's address. LXD accepts it; if you meant a host or floating address, use one outside every managed subnet.",
					who, listen, network, listen, s, name, s.net.inst.addr)})
			return
		}
	}
}
