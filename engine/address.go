package engine

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Kind is the kind of LXD object a change is about. The names match the
// configuration's block names so addresses read the same in both places.
type Kind string

// The kinds of objects lxnetd manages, in creation order.
const (
	KindNetwork Kind = "network"
	KindProfile Kind = "profile"
	KindNode    Kind = "node" // an LXD instance
	KindForward Kind = "forward"
)

// order is the creation order of kinds; deletes run in reverse.
func (k Kind) order() int {
	switch k {
	case KindACL: // networks and NICs attach ACLs
		return -1
	case KindNetwork:
		return 0
	case KindProfile:
		return 1
	case KindNode:
		return 2
	default:
		return 3
	}
}

// Address names one LXD object on a remote: "network.br0", "profile.web",
// "node.web1", "forward.br0/198.51.100.10" (a forward is identified by its
// network and listen address), "forward.br0/198.51.100.10@m2" (on an LXD
// cluster, forwards are per member: the same listen address can have a
// forward on each member).
type Address struct {
	Kind    Kind
	Name    string // network, profile or instance name; listen address for forwards
	Network string // forwards only
	// Member is the cluster member of a forward ("" on a standalone server,
	// and for a forward created where LXD chooses).
	Member string
}

func (a Address) String() string {
	if a.Kind == KindForward {
		if a.Member != "" {
			return fmt.Sprintf("forward.%s/%s@%s", a.Network, a.Name, a.Member)
		}
		return fmt.Sprintf("forward.%s/%s", a.Network, a.Name)
	}
	return string(a.Kind) + "." + a.Name
}

// Less orders addresses by kind (creation order), then network, then name.
func (a Address) Less(b Address) bool {
	if a.Kind != b.Kind {
		return a.Kind.order() < b.Kind.order()
	}
	if a.Network != b.Network {
		return a.Network < b.Network
	}
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	return a.Member < b.Member
}

// MarshalText renders the address as its String form in JSON.
func (a Address) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// Action is what a change does to its object.
type Action rune

// Actions, with the symbol the human plan shows for each.
const (
	NoOp    Action = 0
	Create  Action = '+'
	Update  Action = '~'
	Delete  Action = '-'
	Replace Action = '±' // delete, then create (a property LXD cannot change in place)
)

func (a Action) String() string {
	switch a {
	case Create:
		return "create"
	case Update:
		return "update"
	case Delete:
		return "delete"
	case Replace:
		return "replace"
	default:
		return "no-op"
	}
}

// Symbol is the terraform-style marker of the action.
func (a Action) Symbol() string {
	switch a {
	case Replace:
		return "-/+"
	case NoOp:
		return " "
	default:
		return string(a)
	}
}

// MarshalJSON renders the action as its name.
func (a Action) MarshalJSON() ([]byte, error) { return json.Marshal(a.String()) }

// matchTarget reports whether a --target expression ("node.web",
// `node.web["a"]`, "service.api", "remote.vm1", ...) selects addr. A target
// without an index selects every instance of a for_each/count block.
func matchTarget(target, addr string) bool {
	if target == addr {
		return true
	}
	// forward.br0/198.51.100.10 selects that listen address on every
	// cluster member.
	return strings.HasPrefix(addr, target+"[") || strings.HasPrefix(addr, target+"@")
}
