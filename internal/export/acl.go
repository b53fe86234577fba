package export

import (
	"slices"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/lxnetd/lxnetd/engine"
)

// Network ACLs are exported like the other kinds: unowned, not declared,
// with --network only those the selected networks and nodes attach. They
// are written before the networks, and a security.acls value naming
// exported ACLs becomes references (acl.web.name), so the ACLs are created
// before, and deleted after, what attaches them.

// selectACLs adds the ACLs to export to set (after its networks, profiles
// and instances were chosen); keep applies the owner and declared checks.
func selectACLs(set *Set, acls []engine.ACL, networks []string, keep func(kind, name string, cfg map[string]string) bool) {
	attached := map[string]bool{}
	for _, n := range set.Networks {
		for _, a := range engine.ACLNames(n.Config[engine.ACLsKey]) {
			attached[a] = true
		}
	}
	devs := func(d map[string]map[string]string) {
		for _, dev := range d {
			if dev["type"] == "nic" {
				for _, a := range engine.ACLNames(dev[engine.ACLsKey]) {
					attached[a] = true
				}
			}
		}
	}
	for _, p := range set.Profiles {
		devs(p.Devices)
	}
	for _, i := range set.Instances {
		devs(i.Devices)
	}
	for _, a := range acls {
		if (len(networks) == 0 || attached[a.Name]) && keep("acl", a.Name, a.Config) {
			set.ACLs = append(set.ACLs, a)
		}
	}
}

// acl writes an acl block with one ingress or egress block per rule.
func (sc *scope) acl(body *hclwrite.Body, a engine.ACL) {
	b := sc.header(body, "acl", sc.acls[a.Name], a.Name, a.Description)
	setConfig(b, "acl", a.Config)
	for _, dir := range []struct {
		name  string
		rules []engine.ACLRule
	}{{"ingress", a.Ingress}, {"egress", a.Egress}} {
		for _, r := range dir.rules {
			b.AppendNewline()
			rb := b.AppendNewBlock(dir.name, nil).Body()
			setString(rb, "action", r.Action)
			setString(rb, "source", r.Source)
			setString(rb, "destination", r.Destination)
			setString(rb, "protocol", r.Protocol)
			setString(rb, "source_port", r.SourcePort)
			setString(rb, "destination_port", r.DestinationPort)
			setString(rb, "icmp_type", r.ICMPType)
			setString(rb, "icmp_code", r.ICMPCode)
			setString(rb, "description", r.Description)
			if r.State != "" && r.State != "enabled" {
				setString(rb, "state", r.State)
			}
		}
	}
}

// aclRefs is the value of a security.acls key: references to the ACLs
// exported with it (acl.web.name, or join(",", [...]) for several), the
// literal string when any of them is not exported.
func (sc *scope) aclRefs(v string) hclwrite.Tokens {
	names := engine.ACLNames(v)
	var refs []hclwrite.Tokens
	for _, n := range names {
		l, ok := sc.acls[n]
		if !ok {
			return hclwrite.TokensForValue(cty.StringVal(v))
		}
		refs = append(refs, hclwrite.TokensForTraversal(traversal("acl", l, "name")))
	}
	switch len(refs) {
	case 0:
		return hclwrite.TokensForValue(cty.StringVal(v))
	case 1:
		return refs[0]
	}
	return hclwrite.TokensForFunctionCall("join", hclwrite.TokensForValue(cty.StringVal(",")), hclwrite.TokensForTuple(refs))
}

// networkConfig writes a network's config like setConfig, with its
// security.acls as references.
func (sc *scope) networkConfig(body *hclwrite.Body, cfg map[string]string) {
	var attrs []hclwrite.ObjectAttrTokens
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !ConfigKey("network", k) {
			continue
		}
		v := hclwrite.TokensForValue(cty.StringVal(cfg[k]))
		if k == engine.ACLsKey {
			v = sc.aclRefs(cfg[k])
		}
		attrs = append(attrs, hclwrite.ObjectAttrTokens{Name: keyTokens(k), Value: v})
	}
	if len(attrs) > 0 {
		body.SetAttributeRaw("config", hclwrite.TokensForObject(attrs))
	}
}
