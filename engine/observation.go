package engine

import (
	"maps"
	"slices"
	"strings"
)

// What an Observation saw, as lists sorted by name, for readers that are
// not plans (export, saved plans). The objects are shared with the
// observation: do not modify them.

// Networks returns every network listed, managed or not.
func (o *Observation) Networks() []Network {
	return sortedValues(o.obs.networks, func(n Network) string { return n.Name })
}

// Profiles returns every profile.
func (o *Observation) Profiles() []Profile {
	return sortedValues(o.obs.profiles, func(p Profile) string { return p.Name })
}

// Instances returns every instance.
func (o *Observation) Instances() []Instance {
	return sortedValues(o.obs.instances, func(i Instance) string { return i.Name })
}

// Forwards returns the forwards of every forward-capable managed network.
func (o *Observation) Forwards() []Forward {
	return sortedValues(o.obs.forwards, func(f Forward) string { return f.Network + "/" + f.ListenAddress + "@" + f.Location })
}

func sortedValues[K comparable, V any](m map[K]V, key func(V) string) []V {
	out := slices.Collect(maps.Values(m))
	slices.SortFunc(out, func(a, b V) int { return strings.Compare(key(a), key(b)) })
	return out
}
