package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// ObjectDigest is what an observation saw of one object, field by field:
// "type", "description", "config.<key>", "devices.<name>", "profiles",
// "status", "location", "ports" → a hash of the field's value. Fields are
// hashed one by one so that a stale saved plan can say which part of an
// object changed ("ports"), not only that it did.
type ObjectDigest map[string]string

// Digest is what a saved plan remembers of the observation it was made
// from: the digest of every object the plan depends on, by address
// ("forward.br0/198.51.100.10"). Objects a plan never reads into a change
// are left out, so that an unrelated container starting does not make a
// saved plan stale.
type Digest map[string]ObjectDigest

// Digest returns the digest of the objects of this observation that the
// plan of desired (nil: nothing declared) for owner ("" for spec.DefaultOwner)
// depends on: every declared object that exists, and every object carrying
// owner's tag. Left out, because they change on their own or without
// changing what the plan does:
//
//   - volatile.* keys (LXD rewrites them on every start and stop) and ETags
//     (they follow from the rest);
//   - used_by of networks and profiles (someone else's instance attaching to
//     a network): what matters of it, a delete becoming a blocker, shows as a
//     different plan when apply re-plans;
//   - instances' addresses (DHCP) and networks' status and cluster locations.
//
// An instance's status (Running, Stopped) is kept: the plan starts and stops
// declared instances, so a hand-stopped node changes what it would do.
// Digest is pure.
func (o *Observation) Digest(desired *spec.Remote, owner string) Digest {
	if owner == "" {
		owner = spec.DefaultOwner
	}
	if desired == nil {
		desired = &spec.Remote{Name: o.remote}
	}
	obs := o.obs
	want := compile(desired, obs)
	mine := func(cfg map[string]string) bool { return ownershipOf(cfg, owner).owned }
	d := Digest{}
	named := func(kind Kind) func(string) Address {
		return func(name string) Address { return Address{Kind: kind, Name: name} }
	}
	digestKind(d, obs.networks, want.networks, func(n Network) bool { return mine(n.Config) && n.Managed }, named(KindNetwork), networkDigest)
	digestKind(d, obs.profiles, want.profiles, func(p Profile) bool { return mine(p.Config) }, named(KindProfile), profileDigest)
	digestKind(d, obs.instances, want.instances, func(i Instance) bool { return mine(i.Config) }, named(KindNode), instanceDigest)
	digestKind(d, obs.acls, want.acls, func(a ACL) bool { return mine(a.Config) }, named(KindACL), aclDigest)
	// A forward is declared without its cluster member (anyMember).
	for k, f := range obs.forwards {
		if _, ok := want.forwards[k.anyMember()]; ok || mine(f.Config) {
			d[k.address().String()] = forwardDigest(f)
		}
	}
	return d
}

// digestKind adds to d the digest of every observed object of one kind
// that a plan would look at: the declared ones, and those kept (owned by
// this owner, for networks also managed by LXD).
func digestKind[K comparable, T, D any](d Digest, observed map[K]T, declared map[K]D, kept func(T) bool, addr func(K) Address, digest func(T) ObjectDigest) {
	for k, obj := range observed {
		if _, ok := declared[k]; ok || kept(obj) {
			d[addr(k).String()] = digest(obj)
		}
	}
}

// hashValue hashes the JSON form of v (maps marshal with sorted keys).
func hashValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only plain strings, slices and maps are hashed here.
		panic("engine: hashing a digest field: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func addConfig(d ObjectDigest, cfg map[string]string) {
	for k, v := range cfg {
		if strings.HasPrefix(k, "volatile.") {
			continue
		}
		d["config."+k] = hashValue(v)
	}
}

func addDevices(d ObjectDigest, devs map[string]map[string]string) {
	for name, props := range devs {
		d["devices."+name] = hashValue(props)
	}
}

func networkDigest(n Network) ObjectDigest {
	d := ObjectDigest{"type": hashValue(n.Type), "description": hashValue(n.Description), "managed": hashValue(n.Managed)}
	addConfig(d, n.Config)
	return d
}

func profileDigest(p Profile) ObjectDigest {
	d := ObjectDigest{"description": hashValue(p.Description)}
	addConfig(d, p.Config)
	addDevices(d, p.Devices)
	return d
}

func instanceDigest(i Instance) ObjectDigest {
	d := ObjectDigest{
		"type": hashValue(i.Type), "description": hashValue(i.Description), "profiles": hashValue(i.Profiles),
		"status": hashValue(i.Status), "location": hashValue(i.Location),
	}
	addConfig(d, i.Config)
	addDevices(d, i.Devices)
	return d
}

func forwardDigest(f Forward) ObjectDigest {
	d := ObjectDigest{"description": hashValue(f.Description)}
	addConfig(d, f.Config)
	// LXD lists ports in the order they were written: compare them as a set.
	ports := make([]ForwardPort, len(f.Ports))
	for i, p := range f.Ports {
		ports[i] = normalizePort(p)
	}
	sortPorts(ports)
	d["ports"] = hashValue(ports)
	return d
}

// DigestChange is one object that is not as a saved plan observed it.
type DigestChange struct {
	Addr string
	// What happened: "changed", "appeared" or "vanished".
	What string
	// Fields that differ, sorted ("ports", "config.ipv4.address"); only for
	// "changed".
	Fields []string
}

// CompareDigests lists, sorted by address, every object whose digest in
// fresh differs from saved.
func CompareDigests(saved, fresh Digest) []DigestChange {
	var out []DigestChange
	for _, addr := range slices.Sorted(maps.Keys(saved)) {
		f, ok := fresh[addr]
		if !ok {
			out = append(out, DigestChange{Addr: addr, What: "vanished"})
			continue
		}
		s := saved[addr]
		var fields []string
		for k, v := range s {
			if f[k] != v {
				fields = append(fields, k)
			}
		}
		for k := range f {
			if _, ok := s[k]; !ok {
				fields = append(fields, k)
			}
		}
		if len(fields) > 0 {
			slices.Sort(fields)
			out = append(out, DigestChange{Addr: addr, What: "changed", Fields: fields})
		}
	}
	for _, addr := range slices.Sorted(maps.Keys(fresh)) {
		if _, ok := saved[addr]; !ok {
			out = append(out, DigestChange{Addr: addr, What: "appeared"})
		}
	}
	slices.SortStableFunc(out, func(a, b DigestChange) int { return strings.Compare(a.Addr, b.Addr) })
	return out
}
