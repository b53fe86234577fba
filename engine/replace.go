package engine

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// Replacing instances. Some properties of an LXD instance cannot change in
// place: LXD has no call for a new image or type, lxnetd does not move
// instances between cluster members, and LXD 5.0.2 refuses to change the
// storage pool of an instance's root disk ("Cannot update root disk device
// pool name", whether through a local device or a profile). A declared node
// that differs from its instance in one of these is replaced (deleted, then
// created and started from the configuration), as Terraform replaces a
// resource whose "ForceNew" attribute changes; the diffs of those keys carry
// Forces.
//
// Deleting an instance loses what is inside it, so a replace runs only when
// the configuration allows deleting instances (delete_instances = true) or
// the operator asks for it in one run (lxnetd apply --replace ADDR, like
// Terraform's -replace, which also replaces a node that has not changed).
// Otherwise the replace is blocked: it is reported in Plan.Blockers (a line
// that starts with the node's address, as every blocker does) with what to
// do, the rest of the node's changes are still planned in place, and
// the rest of the plan applies.

// forcedKeys returns the differences between a declared node and its
// existing instance that LXD cannot make in place, each marked Forces.
func (pl *planner) forcedKeys(want Instance, obs Instance) []KeyDiff {
	var out []KeyDiff
	diff := func(key, before, after string) {
		out = append(out, KeyDiff{Key: key, Before: &before, After: &after, Forces: true})
	}
	base := obs.Config["volatile.base_image"]
	switch fp, changed, unknown := pl.obs.images.imageChange(base, want.Image); {
	case changed:
		diff("image", pl.describeImage(base), fmt.Sprintf("%s (%s)", want.Image, shortFingerprint(fp)))
	case unknown:
		// Not silently ignored: the node keeps its image, but a typo or a
		// deleted image would only show when the node is created again.
		pl.plan.Blockers = append(pl.plan.Blockers, fmt.Sprintf(
			"%s image is not compared: %q names no single image on remote %q (the instance runs %s); import the image or correct the name, or creating the node again will fail",
			pl.want.instances[want.Name].sources[0], want.Image, pl.plan.Remote, pl.describeImage(base)))
	}
	if obs.Type != want.Type {
		diff("type", obs.Type, want.Type)
	}
	// A declared target (cluster member) that is not where the instance is:
	// lxnetd does not move instances, it recreates them there. No target:
	// wherever LXD put it is fine.
	if want.Location != "" && obs.Location != want.Location {
		diff("target", obs.Location, want.Location)
	}
	obsDev, obsPool := rootDisk(obs.Devices, obs.Profiles, func(p string) map[string]map[string]string { return pl.obs.profiles[p].Devices })
	wantDev, wantPool := rootDisk(want.Devices, want.Profiles, pl.desiredProfileDevices)
	if obsPool != "" && wantPool != "" && obsPool != wantPool {
		dev := wantDev
		if dev == "" {
			dev = obsDev
		}
		diff("devices."+dev+".pool", obsPool, wantPool)
	}
	return out
}

// describeImage names an image fingerprint the way a plan shows it: its
// aliases on the remote, if any, and the short fingerprint.
func (pl *planner) describeImage(fp string) string {
	var aliases []string
	if ix := pl.obs.images; ix != nil {
		for _, a := range slices.Sorted(maps.Keys(ix.byAlias)) {
			if ix.byAlias[a] == fp {
				aliases = append(aliases, a)
			}
		}
	}
	if len(aliases) == 0 {
		return shortFingerprint(fp)
	}
	return fmt.Sprintf("%s (%s)", strings.Join(aliases, ", "), shortFingerprint(fp))
}

// desiredProfileDevices are the devices a profile will have once the plan is
// applied: declared profiles as declared, others as observed.
func (pl *planner) desiredProfileDevices(name string) map[string]map[string]string {
	if it, ok := pl.want.profiles[name]; ok {
		return it.obj.Devices
	}
	return pl.obs.profiles[name].Devices
}

// rootDisk finds an instance's root disk as LXD expands it: a local disk
// device mounted at "/" wins, else the last profile (in order) that has
// one. It returns the device name and its storage pool ("" when none).
func rootDisk(local map[string]map[string]string, profiles []string, profileDevices func(string) map[string]map[string]string) (dev, pool string) {
	find := func(devs map[string]map[string]string) (string, string, bool) {
		for _, name := range slices.Sorted(maps.Keys(devs)) {
			if d := devs[name]; d["type"] == "disk" && d["path"] == "/" {
				return name, d["pool"], true
			}
		}
		return "", "", false
	}
	if name, p, ok := find(local); ok {
		return name, p
	}
	for _, prof := range slices.Backward(profiles) {
		if name, p, ok := find(profileDevices(prof)); ok {
			return name, p
		}
	}
	return "", ""
}

// replaceReason says why a node is replaced: the forced keys, or the
// operator's --replace.
func replaceReason(forced []KeyDiff) string {
	if len(forced) == 0 {
		return "replacement requested with --replace"
	}
	return forcedReason(forced) + ", which LXD cannot change in place"
}

// forcedReason lists the forced keys' changes.
func forcedReason(forced []KeyDiff) string {
	var parts []string
	for _, d := range forced {
		switch {
		case d.Key == "target":
			parts = append(parts, fmt.Sprintf("target changes from %q to %q (lxnetd recreates the instance on the new member)", *d.Before, *d.After))
		case strings.HasSuffix(d.Key, ".pool"):
			parts = append(parts, fmt.Sprintf("root disk pool changes from %q to %q", *d.Before, *d.After))
		default:
			parts = append(parts, fmt.Sprintf("%s changes from %q to %q", d.Key, *d.Before, *d.After))
		}
	}
	return strings.Join(parts, "; ")
}

// replacement decides what happens to an existing node: replaced (true),
// or, when a key forces a replace the settings do not allow, blocked: the
// plan reports it (when --target selects the node) and keeps the node,
// with its other changes planned in place (false).
func (pl *planner) replacement(it *item[Instance], forced []KeyDiff) bool {
	requested := pl.replaceRequested(it.sources)
	if len(forced) == 0 && !requested {
		return false
	}
	if requested || pl.settings.DeleteInstances {
		return true
	}
	if len(pl.opts.Targets) == 0 || selected(&Change{Addr: Address{Kind: KindNode, Name: it.obj.Name}, Sources: it.sources}, pl.plan.Remote, pl.opts.Targets) {
		pl.plan.Blockers = append(pl.plan.Blockers, fmt.Sprintf(
			"%s is not replaced: %s, which forces replacement (LXD cannot change it in place); replacing deletes the instance and what is inside it: set delete_instances = true in the lxnet block, or run lxnetd apply --replace '%s' for this run",
			it.sources[0], forcedReason(forced), it.sources[0]))
	}
	return false
}

// replaceRequested reports whether --replace names one of a node's
// configuration addresses (node.web1, node.web["a"]; node.web selects every
// instance of a for_each or count block, as --target does).
func (pl *planner) replaceRequested(sources []string) bool {
	for _, r := range pl.opts.Replace {
		for _, s := range sources {
			if matchTarget(r, s) {
				return true
			}
		}
	}
	return false
}

// keepForced returns want with the forced keys set back to what the
// instance has, so that a blocked replace still plans the node's other
// changes in place without asking LXD for one it refuses.
func keepForced(want, obs Instance, forced []KeyDiff) Instance {
	for _, d := range forced {
		if !strings.HasSuffix(d.Key, ".pool") {
			continue // image, type and target are not part of an update
		}
		dev := strings.TrimSuffix(strings.TrimPrefix(d.Key, "devices."), ".pool")
		want.Devices = maps.Clone(want.Devices)
		switch od, local := obs.Devices[dev]; {
		case local:
			want.Devices[dev] = od
		case want.Devices[dev] != nil:
			delete(want.Devices, dev)
		default: // the pool comes from the profiles
			want.Profiles = obs.Profiles
		}
	}
	return want
}

// withForced puts the forced diffs in place of the creation diffs of the
// same keys.
func withForced(diffs, forced []KeyDiff) []KeyDiff {
	for _, f := range forced {
		i := slices.IndexFunc(diffs, func(d KeyDiff) bool { return d.Key == f.Key })
		if i < 0 {
			diffs = append(diffs, f)
			continue
		}
		diffs[i] = f
	}
	return diffs
}

// UnmatchedReplace returns the --replace expressions that name no declared
// node on any remote, and those that are not node addresses at all: a
// typo must not silently replace nothing.
func UnmatchedReplace(exprs []string, remotes []*spec.Remote) []string {
	var out []string
	for _, e := range exprs {
		found := false
		for _, r := range remotes {
			for _, i := range r.Instances {
				found = found || matchTarget(e, i.Addr)
			}
		}
		if !found || !strings.HasPrefix(e, "node.") {
			out = append(out, e)
		}
	}
	return out
}
