package engine

import (
	"fmt"
	"strings"

	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/lxnetd/lxnetd/internal/redact"
)

// Plan is everything Apply will do on one remote, as data: Apply executes
// exactly Changes and nothing else, and renderers only read it.
type Plan struct {
	Remote string
	// Server is the remote's server kind and version ("LXD 5.0.2"), for
	// plan headers; zero when the remote did not say.
	Server ServerInfo
	Owner  string
	// Changes in execution order: creates and updates by kind (networks,
	// profiles, nodes, forwards), then deletes in reverse kind order.
	Changes []*Change
	// Orphans are owned instances no longer in the configuration that are
	// kept because delete_instances is false ("node.old").
	Orphans []string
	// Blockers are changes the plan leaves out, each with why and what to
	// do: deletes of objects something lxnetd does not delete still uses,
	// and replaces of nodes that neither delete_instances nor --replace
	// allows (reported before any write).
	Blockers []string
	// BlockedBy maps each network, profile or ACL whose delete (or
	// replace) Blockers left out to its observed users: when one of them
	// changes or goes, the delete may have become possible (the daemon
	// re-reads the object on their events and plans again).
	BlockedBy map[Address][]Address
	// Owned is the number of objects carrying this owner's tag that were
	// observed (ACLs, networks, profiles, instances, forwards), for the daemon's
	// allow_empty check.
	Owned int
	// Requests is the number of LXD API requests observing the remote took.
	Requests int64
	// ForwardNetworks is the number of networks whose forwards were listed
	// (one request each); the rest of a plan costs four bulk reads, plus
	// one image list when ImagesListed.
	ForwardNetworks int
	// ImagesListed says the plan listed the remote's images, which it does
	// only when a declared node already exists (to compare its image).
	ImagesListed bool
	// Secrets scrubs the configuration's sensitive strings from text made
	// from this plan (errors of its writes, renderers); nil: none.
	Secrets *redact.Scrubber
}

// Change is one action on one LXD object.
type Change struct {
	Addr   Address
	Action Action
	// Sources are the configuration addresses the object is compiled from
	// ("node.web1", `service.web.port["http"]`); empty for deletes.
	Sources []string
	Pos     spec.Pos
	// Reason explains a replace or an adoption.
	Reason string
	// Diffs are the key-level differences, sorted by key.
	Diffs []KeyDiff

	// What Apply writes. For create and replace: the desired object. For
	// update and delete: the observed object (its ETag makes the update
	// conditional), with Patch applied on top for updates.
	Network  *Network
	Profile  *Profile
	Instance *Instance
	Forward  *Forward
	ACL      *ACL
	Patch    *Patch
	// From is, for the replace of a forward placed on another cluster
	// member than it is on, the observed forward deleted first.
	From *Forward
}

// KeyDiff is one key that differs: config keys are "config.<key>", device
// properties "devices.<name>.<property>", forward ports "ports.<proto>/<port>",
// and "description", "image", "profiles", "state", "target", "type". Nil
// Before means the key is added, nil After that it is removed. Forces marks
// a key LXD cannot change in place, which makes the change a replace.
type KeyDiff struct {
	Key    string  `json:"key"`
	Before *string `json:"before,omitempty"`
	After  *string `json:"after,omitempty"`
	Forces bool    `json:"forces_replacement,omitempty"`
	// Sensitive marks a key whose desired value derives from a variable
	// declared sensitive: renderers show neither value.
	Sensitive bool `json:"sensitive,omitempty"`
}

// Patch is what an update changes on the observed object. It is re-applied to
// a fresh read when LXD answers 412 (someone else wrote in between).
type Patch struct {
	Description   *string
	SetConfig     map[string]string
	UnsetConfig   []string
	SetDevices    map[string]map[string]string
	RemoveDevices []string
	Profiles      []string // nil: unchanged
	State         string   // "running" or "stopped"; "": unchanged (also used on create)
	Ports         []ForwardPort
	SetPorts      bool // Ports replaces the forward's ports
	// Ingress and Egress replace an ACL's rules when SetRules.
	Ingress, Egress []ACLRule
	SetRules        bool
}

// writes reports whether the patch changes the object itself (beyond state).
func (p *Patch) writes() bool {
	return p.Description != nil || len(p.SetConfig) > 0 || len(p.UnsetConfig) > 0 ||
		len(p.SetDevices) > 0 || len(p.RemoveDevices) > 0 || p.Profiles != nil || p.SetPorts || p.SetRules
}

// Summary counts the changes of a plan by action.
type Summary struct{ Create, Update, Delete, Replace int }

// Add adds another summary (for totals over remotes).
func (s Summary) Add(o Summary) Summary {
	return Summary{s.Create + o.Create, s.Update + o.Update, s.Delete + o.Delete, s.Replace + o.Replace}
}

// Empty reports whether the plan changes nothing (orphans and blockers are
// information, not changes).
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// Summary counts the plan's changes by action.
func (p *Plan) Summary() Summary {
	var s Summary
	for _, c := range p.Changes {
		switch c.Action {
		case Create:
			s.Create++
		case Update:
			s.Update++
		case Delete:
			s.Delete++
		case Replace:
			s.Replace++
		}
	}
	return s
}

// Deletes is the number of objects the plan deletes, replaces included (for
// the daemon's max_deletes).
func (p *Plan) Deletes() int {
	s := p.Summary()
	return s.Delete + s.Replace
}

// Problem is a reason the plan cannot be made: a configuration that collides
// with what exists on the remote (an unowned object of a declared name, a
// type change of an instance, ...).
type Problem struct {
	Addr    string // configuration address, or the LXD object's address
	Pos     spec.Pos
	Summary string
	Detail  string // what to do about it
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Pos.File != "" {
		fmt.Fprintf(&b, "%s:%d,%d: ", p.Pos.File, p.Pos.Line, p.Pos.Column)
	}
	b.WriteString(p.Summary)
	if p.Detail != "" {
		b.WriteString("; " + p.Detail)
	}
	return b.String()
}

// PlanError lists every problem found while planning one remote.
type PlanError struct {
	Remote   string
	Problems []Problem
}

func (e *PlanError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.String()
	}
	return fmt.Sprintf("planning remote %q: %s", e.Remote, strings.Join(msgs, "\n  "))
}
