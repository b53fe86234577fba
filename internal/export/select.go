// Package export turns what exists on an LXD server into lxnetd
// configuration: it selects the objects worth adopting from an engine
// observation (Remote, selectExport) and writes them as HCL blocks with
// adopt = true (Render). It owns everything `lxnetd export` decides; the
// command only resolves flags and connects.
package export

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// Remote observes r with the engine's bulk reads and selects what to
// export: objects without an lxnetd owner tag, not declared already in
// declared (nil: nothing), limited to networks when given. The report says
// what was exported and skipped.
func Remote(ctx context.Context, r engine.Remote, declared *spec.Remote, networks []string) (Set, string, error) {
	o, err := engine.Observe(ctx, r)
	if err != nil {
		return Set{}, "", fmt.Errorf("exporting remote %q: %w", r.Name(), err)
	}
	obs := observed{networks: o.Networks(), profiles: o.Profiles(), instances: o.Instances(), forwards: o.Forwards(), acls: o.ACLs()}
	set, skipped, err := selectExport(obs, declared, networks)
	if err != nil {
		return Set{}, "", fmt.Errorf("exporting remote %q: %w", r.Name(), err)
	}
	set.Remote = r.Name()
	report := fmt.Sprintf("remote %q: exported %s, %s, %s, %s", r.Name(),
		count(len(set.Networks), "network"), count(len(set.Profiles), "profile"),
		count(len(set.Instances), "node"), count(len(set.Forwards), "forward"))
	if len(set.ACLs) > 0 {
		report += ", " + count(len(set.ACLs), "ACL")
	}
	if len(skipped) > 0 {
		report += "; skipped " + strings.Join(skipped, ", ")
	}
	return set, report, nil
}

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// observed is everything read from one remote.
type observed struct {
	networks  []engine.Network
	profiles  []engine.Profile
	instances []engine.Instance
	forwards  []engine.Forward
	acls      []engine.ACL
}

// selectExport chooses the objects to export: no lxnetd owner tag (objects
// some lxnetd configuration owns are its business), not declared already,
// managed networks only, no "default" profile (every LXD has one; adopting
// it would let lxnetd delete it), and with networks given, only what hangs
// off those networks. skipped describes what was left out, for the report.
func selectExport(obs observed, declared *spec.Remote, networks []string) (Set, []string, error) {
	var set Set
	d := declaredNames(declared)
	owned, already := 0, 0
	keep := func(kind, name string, cfg map[string]string) bool {
		switch {
		case cfg[engine.TagOwner] != "":
			owned++
			return false
		case d[kind+"/"+name]:
			already++
			return false
		}
		return true
	}
	known := map[string]bool{}
	for _, n := range obs.networks {
		known[n.Name] = n.Managed
	}
	for _, n := range networks {
		if !known[n] {
			return set, nil, fmt.Errorf("--network %q: no managed network of that name", n)
		}
	}
	inScope := func(devs map[string]map[string]string) bool {
		return slices.ContainsFunc(networks, func(n string) bool { return engine.UsesNetwork(devs, n) })
	}
	profileDevs := map[string]map[string]map[string]string{}
	for _, p := range obs.profiles {
		profileDevs[p.Name] = p.Devices
	}
	for _, n := range obs.networks {
		if n.Managed && (len(networks) == 0 || slices.Contains(networks, n.Name)) && keep("network", n.Name, n.Config) {
			set.Networks = append(set.Networks, n)
		}
	}
	usedProfiles := map[string]bool{}
	for _, i := range obs.instances {
		if len(networks) > 0 {
			attached := inScope(i.Devices)
			for _, p := range i.Profiles {
				attached = attached || inScope(profileDevs[p])
			}
			if !attached {
				continue
			}
		}
		if keep("node", i.Name, i.Config) {
			set.Instances = append(set.Instances, i)
			for _, p := range i.Profiles {
				usedProfiles[p] = true
			}
		}
	}
	defaultSkipped := false
	for _, p := range obs.profiles {
		if len(networks) > 0 && !usedProfiles[p.Name] && !inScope(p.Devices) {
			continue
		}
		if p.Name == "default" {
			defaultSkipped = true
			continue
		}
		if keep("profile", p.Name, p.Config) {
			set.Profiles = append(set.Profiles, p)
		}
	}
	for _, f := range obs.forwards {
		if (len(networks) == 0 || slices.Contains(networks, f.Network)) && keep("forward", f.Network+"/"+f.ListenAddress, f.Config) {
			set.Forwards = append(set.Forwards, f)
		}
	}
	selectACLs(&set, obs.acls, networks, keep)
	var skipped []string
	if owned > 0 {
		skipped = append(skipped, fmt.Sprintf("%d owned by lxnetd", owned))
	}
	if already > 0 {
		skipped = append(skipped, fmt.Sprintf("%d already declared", already))
	}
	if defaultSkipped {
		skipped = append(skipped, `profile "default"`)
	}
	return set, skipped, nil
}

// declaredNames indexes what a configuration declares on a remote, as
// "kind/LXD name" (forwards "forward/NETWORK/LISTEN", including those that
// services compile to).
func declaredNames(r *spec.Remote) map[string]bool {
	out := map[string]bool{}
	if r == nil {
		return out
	}
	for _, n := range r.Networks {
		out["network/"+n.Name] = true
	}
	for _, p := range r.Profiles {
		out["profile/"+p.Name] = true
	}
	for _, i := range r.Instances {
		out["node/"+i.Name] = true
	}
	for _, f := range r.Forwards {
		out["forward/"+f.Network+"/"+f.ListenAddress] = true
	}
	for _, a := range r.ACLs {
		out["acl/"+a.Name] = true
	}
	for _, e := range r.Exposures {
		if e.Via == spec.ViaForward {
			out["forward/"+e.Network+"/"+e.ListenAddress] = true
		}
	}
	return out
}
