package engine

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
)

// Changes round-trip through JSON (a saved plan holds them): Address and
// Action read back the text they are written as.

// UnmarshalText parses an address in its String form ("node.web1",
// "forward.br0/198.51.100.10").
func (a *Address) UnmarshalText(b []byte) error {
	kind, name, ok := strings.Cut(string(b), ".")
	if !ok || name == "" {
		return fmt.Errorf("invalid address %q: want KIND.NAME", b)
	}
	switch k := Kind(kind); k {
	case KindNetwork, KindProfile, KindNode, KindACL:
		*a = Address{Kind: k, Name: name}
	case KindForward:
		network, listen, ok := strings.Cut(name, "/")
		if !ok || network == "" || listen == "" {
			return fmt.Errorf("invalid address %q: want forward.NETWORK/LISTEN", b)
		}
		*a = Address{Kind: k, Network: network, Name: listen}
	default:
		return fmt.Errorf("invalid address %q: unknown kind %q", b, kind)
	}
	return nil
}

// UnmarshalJSON parses an action from its name ("create").
func (a *Action) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	for _, act := range []Action{NoOp, Create, Update, Delete, Replace} {
		if act.String() == s {
			*a = act
			return nil
		}
	}
	return fmt.Errorf("invalid action %q", s)
}

// Fingerprint identifies what a change does, leaving out what the observed
// object carries that changes on its own or only says how to write it: ETags,
// volatile.* keys, used_by, network status, addresses and cluster locations
// of the observed object an update or delete starts from. Two plans made from
// observations with equal digests (see Observation.Digest) have changes of
// equal fingerprints, unless the configuration differs; a saved plan is
// applied only when that holds.
func (c *Change) Fingerprint() string {
	cp := *c
	if n := c.Network; n != nil {
		v := *n
		v.Config, v.ETag, v.Status, v.UsedBy, v.Locations = stable(n.Config), "", "", nil, nil
		cp.Network = &v
	}
	if p := c.Profile; p != nil {
		v := *p
		v.Config, v.ETag, v.UsedBy = stable(p.Config), "", nil
		cp.Profile = &v
	}
	if i := c.Instance; i != nil {
		v := *i
		v.Config, v.ETag, v.Addresses = stable(i.Config), "", nil
		cp.Instance = &v
	}
	if a := c.ACL; a != nil {
		v := *a
		v.ETag, v.UsedBy = "", nil
		cp.ACL = &v
	}
	return hashValue(cp)
}

// stable is a config map without LXD's volatile.* keys.
func stable(cfg map[string]string) map[string]string {
	out := maps.Clone(cfg)
	maps.DeleteFunc(out, func(k, _ string) bool { return strings.HasPrefix(k, "volatile.") })
	return out
}
