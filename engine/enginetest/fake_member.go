package enginetest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lxnetd/lxnetd/engine"
)

// A fake LXD cluster: with Members set, forwards are per member as on a
// real cluster (LXD-NOTES): each is stored with its Location, the same
// listen address may have a forward on several members, a list returns
// every member's, and a write or read without a member reaches the first
// member (the one "the request reaches"); a read without a member of a
// listen address held by several members is refused, as LXD refuses it.

// ForwardKey is the key of a forward in Fake.Forwards[network]: its listen
// address, followed by "@member" on a cluster member.
func ForwardKey(listen, member string) string {
	if member == "" {
		return listen
	}
	return listen + "@" + member
}

// member is where a forward request for member lands: member itself (one
// of Members), the first member when member is "" on a cluster, "" on a
// standalone fake. Callers hold f.mu.
func (f *Fake) member(member string) (string, error) {
	switch {
	case member == "" && len(f.Members) == 0:
		return "", nil
	case member == "":
		return f.Members[0], nil
	case !slices.Contains(f.Members, member):
		// LXD's 404, on a standalone server too.
		return "", fmt.Errorf("cluster member %q not found: %w", member, engine.ErrNotFound)
	}
	return member, nil
}

// findForward is the key of the forward GetForward reads: on a cluster
// without a member, the one member holding listen (an error when several
// do). Callers hold f.mu.
func (f *Fake) findForward(network, listen, member string) (string, error) {
	if member != "" || len(f.Members) == 0 {
		m, err := f.member(member)
		return ForwardKey(listen, m), err
	}
	var found []string
	for k := range f.Forwards[network] {
		if l, _, _ := strings.Cut(k, "@"); l == listen {
			found = append(found, k)
		}
	}
	switch len(found) {
	case 0:
		return "", engine.ErrNotFound
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("network forward found on more than one cluster member; target one")
}

// withLocations is n as a cluster lists it: on every member.
func (f *Fake) withLocations(n engine.Network) engine.Network {
	if len(f.Members) > 0 {
		n.Locations = slices.Clone(f.Members)
	}
	return n
}
