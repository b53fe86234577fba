package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// The acl block: an LXD network ACL with ingress and egress rule blocks
// whose attributes are LXD's rule keys verbatim. validate refuses what LXD
// 5.0 would refuse at apply (lxd/network/acl validateRule): an unknown
// action, state or protocol, ports without tcp/udp, ICMP type/code without
// icmp4/icmp6, addresses that are neither IPs, CIDRs nor ranges.

const kindACL = "acl"

var aclSchema = &hcl.BodySchema{
	Attributes: withCommon(
		hcl.AttributeSchema{Name: "remote"}, hcl.AttributeSchema{Name: "config"}, hcl.AttributeSchema{Name: "adopt"},
	),
	Blocks: []hcl.BlockHeaderSchema{{Type: "ingress"}, {Type: "egress"}},
}

var aclRuleSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "action", Required: true}, {Name: "source"}, {Name: "destination"}, {Name: "protocol"},
		{Name: "source_port"}, {Name: "destination_port"}, {Name: "icmp_type"}, {Name: "icmp_code"},
		{Name: "description"}, {Name: "state"},
	},
}

var (
	aclActions   = []string{"allow", "reject", "drop"}
	aclStates    = []string{"enabled", "disabled", "logged"}
	aclProtocols = []string{"tcp", "udp", "icmp4", "icmp6"}
)

type aclResult struct {
	inst      *instance
	remote    string
	spec      spec.ACL
	nameRange *hcl.Range
}

// aclNameProblem: LXD wants ACL names to be valid hostnames that do not
// start with "@" or "%" (reserved for its own selectors), so that a rule
// can tell a name from an address.
func aclNameProblem(name string) string {
	return hostnameProblem(name, "", " (LXD wants a hostname, to tell an ACL name from an address in rules)")
}

func (l *loader) evalACL(inst *instance) (cty.Value, hcl.Diagnostics) {
	e := l.instEv(inst)
	remote, _, rok := l.remoteOf(e, inst)
	name, nameRng := l.objectName(e, inst, aclNameProblem, "ACL")
	desc, _ := e.str("description")
	cfg, aCfg := l.config(e)
	meta := l.meta(e, inst)
	if aCfg != nil && !e.bad["config"] {
		for _, k := range sortedKeys(cfg) {
			if !strings.HasPrefix(k, "user.") {
				e.errorf(keyRange(aCfg, e.ctx, k), "Invalid ACL configuration",
					"LXD accepts only user.* keys in an ACL's config; %q is not one. Rules go in ingress { ... } and egress { ... } blocks.", k)
				e.failed = true
			}
		}
	}
	a := spec.ACL{Meta: meta, Name: name, Description: desc, Config: cfg}
	for _, nb := range inst.d.nested {
		r, ok := l.evalACLRule(e, nb)
		if !ok {
			e.failed = true
			continue
		}
		if nb.block.Type == "ingress" {
			a.Ingress = append(a.Ingress, r)
		} else {
			a.Egress = append(a.Egress, r)
		}
	}
	if !rok || e.bad["name"] {
		return cty.NilVal, *e.diags
	}
	if !e.failed {
		l.acls = append(l.acls, &aclResult{inst: inst, remote: remote, spec: a, nameRange: nameRng})
	}
	return cty.ObjectVal(map[string]cty.Value{
		"name": cty.StringVal(name), "remote": cty.StringVal(remote),
		"description": e.or("description", cty.StringVal(desc)), "config": e.or("config", mapVal(cfg)),
	}), *e.diags
}

// evalACLRule evaluates one ingress or egress block.
func (l *loader) evalACLRule(parent *ev, nb *nestedBlock) (spec.ACLRule, bool) {
	e := parent.nested(nb.content.Attributes, nb.block.DefRange)
	r := spec.ACLRule{Pos: posOf(nb.block.DefRange)}
	r.Action, _ = e.str("action")
	r.Source, _ = e.str("source")
	r.Destination, _ = e.str("destination")
	r.Protocol, _ = e.str("protocol")
	r.SourcePort, _ = e.portString("source_port")
	r.DestinationPort, _ = e.portString("destination_port")
	r.ICMPType, _ = e.portString("icmp_type")
	r.ICMPCode, _ = e.portString("icmp_code")
	r.Description, _ = e.str("description")
	r.State = l.choice(e, "state", spec.DefaultACLRuleState, aclStates, "rule state")
	if e.failed {
		return r, false
	}
	l.checkOneOf(e, "action", r.Action, aclActions, "rule action")
	if r.Action == "" && e.attrs["action"] != nil {
		e.errorf(e.attrs["action"].Expr.Range().Ptr(), "Unknown rule action", "action must be %s.", list(aclActions))
		e.failed = true
	}
	l.checkOneOf(e, "protocol", r.Protocol, aclProtocols, "rule protocol")
	for _, k := range []string{"source", "destination"} {
		v := map[string]string{"source": r.Source, "destination": r.Destination}[k]
		if v == "" {
			continue
		}
		if p := aclSubjectProblem(v); p != "" {
			e.errorf(e.attrs[k].Expr.Range().Ptr(), "Invalid rule "+k,
				"%s = %s: %s. Write IP addresses, CIDR subnets or ranges (\"10.0.0.1-10.0.0.9\"), separated by commas.", k, quoted(v), p)
			e.failed = true
		}
	}
	if e.failed {
		return r, false // a wrong protocol would make every port check misleading
	}
	// Ports and ICMP fields apply to some protocols only: LXD refuses them
	// with another one.
	only := func(applies bool, keys, values []string, summary, detail string, check func(k, v string, rng *hcl.Range)) {
		for i, k := range keys {
			if e.attrs[k] == nil {
				continue
			}
			rng := e.attrs[k].Expr.Range().Ptr()
			if !applies {
				e.errorf(rng, summary, detail, k)
				e.failed = true
				continue
			}
			check(k, values[i], rng)
		}
	}
	only(r.Protocol == "tcp" || r.Protocol == "udp", []string{"source_port", "destination_port"}, []string{r.SourcePort, r.DestinationPort},
		"Port without tcp or udp", "%s applies only to protocol = \"tcp\" or \"udp\" (LXD refuses it otherwise); add protocol = \"tcp\" to this rule.",
		func(k, v string, rng *hcl.Range) {
			if _, err := parsePorts(v); err != nil {
				e.errorf(rng, "Invalid port", "%s: %s. Write a port (\"80\"), a list (\"80,443\") or a range (\"8000-8010\").", k, err)
				e.failed = true
			}
		})
	only(r.Protocol == "icmp4" || r.Protocol == "icmp6", []string{"icmp_type", "icmp_code"}, []string{r.ICMPType, r.ICMPCode},
		"ICMP field without an ICMP protocol", "%s applies only to protocol = \"icmp4\" or \"icmp6\" (LXD refuses it otherwise).",
		func(k, v string, rng *hcl.Range) {
			if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 255 {
				e.errorf(rng, "Invalid "+k, "%s = %s must be a number from 0 to 255.", k, quoted(v))
				e.failed = true
			}
		})
	return r, !e.failed
}

// aclSubjectProblem checks a rule's source or destination: a comma list
// of IPs, CIDRs and IP ranges (LXD's bridge ACLs accept nothing else; OVN
// networks also take ACL names and @internal/@external, accepted here).
func aclSubjectProblem(v string) string {
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			return "an empty item"
		case s == "@internal" || s == "@external":
			continue
		case strings.Contains(s, "/"):
			if _, err := netip.ParsePrefix(s); err != nil {
				return fmt.Sprintf("%q is not a CIDR subnet", s)
			}
		case strings.Contains(s, "-") && strings.ContainsAny(s, ".:"):
			lo, hi, _ := strings.Cut(s, "-")
			a, err1 := netip.ParseAddr(strings.TrimSpace(lo))
			b, err2 := netip.ParseAddr(strings.TrimSpace(hi))
			if err1 != nil || err2 != nil || a.Is4() != b.Is4() || b.Less(a) {
				return fmt.Sprintf("%q is not an IP range (FIRST-LAST of one family, in order)", s)
			}
		case strings.ContainsAny(s, ".:"):
			if _, err := netip.ParseAddr(s); err != nil {
				return fmt.Sprintf("%q is not an IP address", s)
			}
		default:
			if p := aclNameProblem(s); p != "" {
				return fmt.Sprintf("%q is neither an address nor an ACL name", s)
			}
		}
	}
	return ""
}

// aclKeyProblem checks the ACL keys of a network's config and a NIC's
// properties: security.acls names ACLs, security.acls.default.*.action
// is allow, reject or drop, security.acls.default.*.logged a boolean.
// "" for any other key.
func aclKeyProblem(k, v string) string {
	switch k {
	case "security.acls":
		for _, n := range strings.Split(v, ",") {
			if p := aclNameProblem(strings.TrimSpace(n)); p != "" {
				return fmt.Sprintf("must name ACLs, separated by commas (like acl.web.name); %q %s", strings.TrimSpace(n), p)
			}
		}
	case "security.acls.default.ingress.action", "security.acls.default.egress.action":
		if !oneOf(v, aclActions) {
			return "must be " + list(aclActions)
		}
	case "security.acls.default.ingress.logged", "security.acls.default.egress.logged":
		return boolProblem(v)
	}
	return ""
}

// buildACLs checks ACL names are unique per remote and adds the ACLs to
// their remotes.
func (l *loader) buildACLs(cfg *spec.Config) {
	seen := map[string]*aclResult{}
	for _, a := range l.acls {
		k := a.remote + "\x00" + a.spec.Name
		if prev, ok := seen[k]; ok {
			l.errorf(a.nameRange, "Duplicate ACL name",
				"%s would create ACL %q on remote %q, which %s (%s) already declares. Names must be unique per remote; set a different name.", a.inst.addr, a.spec.Name, a.remote, prev.inst.addr, prev.nameRange)
			continue
		}
		seen[k] = a
		if r := cfg.Remotes[a.remote]; r != nil {
			r.ACLs = append(r.ACLs, a.spec)
		}
	}
}
