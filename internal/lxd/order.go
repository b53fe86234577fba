package lxd

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/lxnetd/lxnetd/engine"
)

// LXD returns lists in whatever order its database, or the cluster member
// that answers, produces: members in a network's Locations, the objects of
// a list call, the ports of a forward, the users in used_by. None of these
// orders means anything, but they show through plans, blocker messages,
// export output and tests, so the adapter sorts them, and nothing above it
// can depend on LXD's order. (used_by is sorted where it is parsed into
// addresses.) An instance's Profiles are the exception: their order decides
// which profile's keys win, so it is kept as LXD reports it.

// sorted returns a sorted copy of s (nil stays nil).
func sorted(s []string) []string {
	if s == nil {
		return nil
	}
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func byName[T any](name func(T) string) func(a, b T) int {
	return func(a, b T) int { return cmp.Compare(name(a), name(b)) }
}

// convertAll returns conv of every element of in, in order: never nil, as
// LXD refuses a null where it expects a list.
func convertAll[A, E any](in []A, conv func(A) E) []E {
	out := make([]E, 0, len(in))
	for _, a := range in {
		out = append(out, conv(a))
	}
	return out
}

// listed converts what one list call returns (list; what names the
// objects in its error) and puts it in order (sort).
func listed[A, E any](what string, list func() ([]A, error), conv func(A) E, sort func([]E)) ([]E, error) {
	items, err := list()
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", what, mapError(err))
	}
	out := convertAll(items, conv)
	sort(out)
	return out, nil
}

// sortNetworks orders networks by name, and each one's cluster members.
func sortNetworks(ns []engine.Network) {
	slices.SortFunc(ns, byName(func(n engine.Network) string { return n.Name }))
	for i := range ns {
		ns[i].Locations = sorted(ns[i].Locations)
	}
}

func sortProfiles(ps []engine.Profile) {
	slices.SortFunc(ps, byName(func(p engine.Profile) string { return p.Name }))
}

func sortInstances(is []engine.Instance) {
	slices.SortFunc(is, byName(func(i engine.Instance) string { return i.Name }))
}

func sortACLs(as []engine.ACL) {
	slices.SortFunc(as, byName(func(a engine.ACL) string { return a.Name }))
}

func sortImages(is []engine.Image) {
	slices.SortFunc(is, byName(func(i engine.Image) string { return i.Fingerprint }))
}

func sortForwards(fs []engine.Forward) {
	slices.SortFunc(fs, byName(func(f engine.Forward) string { return f.ListenAddress }))
}

// sortForwardPorts orders ports by protocol, then listen port (as text:
// a listen port may be a range "8000-8010" or a list "80,443").
func sortForwardPorts(ps []engine.ForwardPort) {
	slices.SortFunc(ps, func(a, b engine.ForwardPort) int {
		return cmp.Or(cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.ListenPort, b.ListenPort),
			cmp.Compare(a.TargetAddress, b.TargetAddress), cmp.Compare(a.TargetPort, b.TargetPort))
	})
}
