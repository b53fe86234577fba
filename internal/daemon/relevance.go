package daemon

import (
	"net/url"
	"strings"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// relevance decides which LXD lifecycle events wake a remote's worker. On a
// shared host most events are about objects the configuration never
// mentions (other users' instances, their networks); a full pass for each
// would keep the worker busy and delay the correction of real drift.
//
// Filtering looks only at the event's source path, never at its content,
// so the loop stays level-triggered: a relevant event marks the remote
// dirty and the pass re-reads everything. What the filter drops can only
// matter to objects lxnetd would not write anyway; the periodic resync, a
// reconnect and every configuration change still run full passes.
type relevance struct {
	networks  map[string]bool
	profiles  map[string]bool
	instances map[string]bool
}

// newRelevance collects the names of everything desired on r, including
// objects referred to (the networks of NICs and forwards, the profiles of
// instances, the nodes whose live address a forward port uses).
func newRelevance(r *spec.Remote) *relevance {
	rel := &relevance{networks: map[string]bool{}, profiles: map[string]bool{}, instances: map[string]bool{}}
	if r == nil {
		return rel
	}
	for _, n := range r.Networks {
		rel.networks[n.Name] = true
	}
	for _, p := range r.Profiles {
		rel.profiles[p.Name] = true
		rel.addDevices(p.Devices)
	}
	for _, i := range r.Instances {
		rel.instances[i.Name] = true
		rel.networks[i.Network] = true
		for _, p := range i.Profiles {
			rel.profiles[p] = true
		}
		rel.addDevices(i.Devices)
	}
	for _, f := range r.Forwards {
		rel.networks[f.Network] = true
		for _, p := range f.Ports {
			rel.instances[p.TargetNode] = true
		}
	}
	for _, e := range r.Exposures {
		rel.networks[e.Network] = true
		rel.instances[e.Instance] = true
	}
	delete(rel.networks, "")
	delete(rel.instances, "")
	return rel
}

func (rel *relevance) addDevices(devs map[string]spec.Device) {
	for _, d := range devs {
		if n := d["network"]; n != "" {
			rel.networks[n] = true
		}
		if p := d["parent"]; p != "" {
			rel.networks[p] = true
		}
	}
}

// wants reports whether an event about source ("/1.0/networks/br0/forwards/
// 198.51.100.10", "/1.0/instances/web1?project=p") can change the plan.
// Sources it does not understand are relevant.
func (rel *relevance) wants(source string) bool {
	path := source
	if u, err := url.Parse(source); err == nil {
		path = u.Path
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 3 || parts[0] != "1.0" {
		return true
	}
	name, err := url.PathUnescape(parts[2])
	if err != nil {
		return true
	}
	switch parts[1] {
	case "networks":
		return rel.networks[name]
	case "profiles":
		return rel.profiles[name]
	case "instances", "containers", "virtual-machines":
		return rel.instances[name]
	case "images", "storage-pools", "operations", "certificates", "warnings", "network-acls", "network-zones":
		// Not objects lxnetd plans; a failed instance create waiting for
		// an image is retried with backoff anyway.
		return false
	default:
		return true
	}
}
