package engine

import (
	"context"
	"slices"
	"strings"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// Network ACLs. An ACL is a named set of ingress and egress rules that
// networks (config "security.acls") and NICs (device property
// "security.acls") attach by name. lxnetd owns ACLs as it owns every other
// kind: the owner tag in the ACL's user.* config, updates of owned keys
// only, deletes of owned ACLs that are no longer declared once nothing uses
// them. Rules are a set: LXD applies them regardless of order, so a rule
// added or removed is one diff line, never a rewrite of the whole list.

// KindACL is the kind of a network ACL ("acl.web").
const KindACL Kind = "acl"

// ACL is an LXD network ACL.
type ACL struct {
	Name        string
	Description string
	Config      map[string]string // user.* keys only (LXD accepts nothing else)
	Ingress     []ACLRule
	Egress      []ACLRule
	UsedBy      []Address // networks, instances and profiles using it (observed only)
	ETag        string
}

// ACLRule is one rule of an ACL. (Its fields are those of LXD's rule, in
// the same order, so the adapter converts one into the other.)
type ACLRule struct {
	Action          string
	Source          string
	Destination     string
	Protocol        string
	SourcePort      string
	DestinationPort string
	ICMPType        string
	ICMPCode        string
	Description     string
	State           string
}

// ACLRemote is what the engine needs from a remote for ACLs; Remote
// embeds it.
type ACLRemote interface {
	// ListACLs returns every network ACL of the project, with used_by, in
	// one request.
	ListACLs(ctx context.Context) ([]ACL, error)
	// GetACL reads one ACL as ListACLs lists it, in one request
	// (ErrNotFound when it does not exist).
	GetACL(ctx context.Context, name string) (ACL, error)
	CreateACL(ctx context.Context, a ACL) error
	// UpdateACL replaces the ACL's description, config and rules,
	// conditional on a.ETag like UpdateNetwork.
	UpdateACL(ctx context.Context, a ACL) error
	// DeleteACL deletes an ACL (LXD refuses while anything uses it).
	DeleteACL(ctx context.Context, name string) error
}

// ACLsKey is the config key of a network, and the property of a NIC, that
// names the ACLs attached to it (comma-separated).
const ACLsKey = "security.acls"

// normalizeRule applies LXD's own normalisation (spaces trimmed, also
// around the commas of address and port lists) and its default state, so
// that a rule compares equal to what LXD stores for it.
func normalizeRule(r ACLRule) ACLRule {
	list := func(s string) string {
		parts := strings.Split(s, ",")
		for i, p := range parts {
			parts[i] = strings.TrimSpace(p)
		}
		return strings.Join(parts, ",")
	}
	r.Action = strings.TrimSpace(r.Action)
	r.Protocol = strings.TrimSpace(r.Protocol)
	r.ICMPType = strings.TrimSpace(r.ICMPType)
	r.ICMPCode = strings.TrimSpace(r.ICMPCode)
	r.Description = strings.TrimSpace(r.Description)
	r.State = strings.TrimSpace(r.State)
	if r.State == "" {
		r.State = spec.DefaultACLRuleState
	}
	r.Source, r.Destination = list(r.Source), list(r.Destination)
	r.SourcePort, r.DestinationPort = list(r.SourcePort), list(r.DestinationPort)
	return r
}

// String renders a rule as its non-empty fields in LXD's order ("allow
// protocol=tcp destination_port=80"); the default state is left out. It is
// the value of a rule's diff line.
func (r ACLRule) String() string {
	r = normalizeRule(r)
	parts := []string{r.Action}
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("source", r.Source)
	add("destination", r.Destination)
	add("protocol", r.Protocol)
	add("source_port", r.SourcePort)
	add("destination_port", r.DestinationPort)
	add("icmp_type", r.ICMPType)
	add("icmp_code", r.ICMPCode)
	if r.State != spec.DefaultACLRuleState {
		add("state", r.State)
	}
	add("description", r.Description)
	return strings.Join(parts, " ")
}

// normalizeRules returns the rules normalised, without duplicates, in a
// stable order (by their String, then every field), for writes and digests.
func normalizeRules(rs []ACLRule) []ACLRule {
	out := make([]ACLRule, 0, len(rs))
	for _, r := range rs {
		r = normalizeRule(r)
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b ACLRule) int {
		if c := strings.Compare(a.String(), b.String()); c != 0 {
			return c
		}
		return strings.Compare(a.State, b.State)
	})
	return out
}

// diffRules compares two rule sets of one direction ("ingress" or
// "egress"): one diff per rule only on one side, keyed by the direction.
func diffRules(direction string, obs, want []ACLRule) []KeyDiff {
	o, w := normalizeRules(obs), normalizeRules(want)
	var diffs []KeyDiff
	for _, r := range o {
		if !slices.Contains(w, r) {
			s := r.String()
			diffs = append(diffs, KeyDiff{Key: direction, Before: &s})
		}
	}
	for _, r := range w {
		if !slices.Contains(o, r) {
			s := r.String()
			diffs = append(diffs, KeyDiff{Key: direction, After: &s})
		}
	}
	return diffs
}

// compileACLs adds the remote's ACLs to the desired objects.
func (d *desired) compileACLs(r *spec.Remote) {
	d.acls = map[string]*item[ACL]{}
	for _, a := range r.ACLs {
		conv := func(rs []spec.ACLRule) []ACLRule {
			out := make([]ACLRule, 0, len(rs))
			for _, r := range rs {
				out = append(out, ACLRule{
					Action: r.Action, Source: r.Source, Destination: r.Destination, Protocol: r.Protocol,
					SourcePort: r.SourcePort, DestinationPort: r.DestinationPort, ICMPType: r.ICMPType,
					ICMPCode: r.ICMPCode, Description: r.Description, State: r.State,
				})
			}
			return normalizeRules(out)
		}
		d.acls[a.Name] = &item[ACL]{
			obj: ACL{Name: a.Name, Description: a.Description, Config: cleanConfig(a.Config),
				Ingress: conv(a.Ingress), Egress: conv(a.Egress)},
			sources: []string{a.Addr}, pos: a.Pos, adopt: a.Adopt,
		}
	}
}

// ACLNames splits a security.acls value (ACLsKey) into ACL names: the one
// reading of that list, which export shares.
func ACLNames(v string) []string { return splitList(v) }

// aclNames is ACLNames, under the name the planner uses.
var aclNames = ACLNames

// deviceACLs are the ACLs a NIC device attaches.
func deviceACLs(d map[string]string) []string {
	if d["type"] != "nic" {
		return nil
	}
	return aclNames(d[ACLsKey])
}

// usesACL reports whether a network's config or any of devices names acl.
func usesACL(config map[string]string, devices map[string]map[string]string, acl string) bool {
	if slices.Contains(aclNames(config[ACLsKey]), acl) {
		return true
	}
	for _, d := range devices {
		if slices.Contains(deviceACLs(d), acl) {
			return true
		}
	}
	return false
}
