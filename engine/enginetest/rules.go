package enginetest

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// What LXD derives (used_by, expanded devices, DHCP leases) and refuses
// (references to missing objects, stale ETags, forwards it cannot make),
// as the fake applies it. Each rule is checked against real LXD by the
// conformance suite.

// networkUsedBy lists the users of a network the engine plans, as LXD
// lists them in its used_by: profiles with a device on it, and instances
// with one among their expanded devices (their own or a profile's).
func (f *Fake) networkUsedBy(name string) []engine.Address {
	var out []engine.Address
	uses := func(devs map[string]map[string]string) bool { return engine.UsesNetwork(devs, name) }
	for _, p := range slices.Sorted(maps.Keys(f.Profiles)) {
		if uses(f.Profiles[p].Devices) {
			out = append(out, engine.Address{Kind: engine.KindProfile, Name: p})
		}
	}
	for _, i := range slices.Sorted(maps.Keys(f.Instances)) {
		if uses(f.expandedDevices(f.Instances[i])) {
			out = append(out, engine.Address{Kind: engine.KindNode, Name: i})
		}
	}
	return out
}

// networkInUse says whether LXD refuses to delete a network: something
// uses it, be it only another network naming it as its parent.
func (f *Fake) networkInUse(name string) bool {
	for _, n := range f.Networks {
		if n.Config["parent"] == name {
			return true
		}
	}
	return len(f.networkUsedBy(name)) > 0
}

// expandedDevices are an instance's devices as LXD applies them: its
// profiles' in order, then its own, a later one replacing an earlier one of
// the same name.
func (f *Fake) expandedDevices(i engine.Instance) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, p := range i.Profiles {
		maps.Copy(out, f.Profiles[p].Devices)
	}
	maps.Copy(out, i.Devices)
	return out
}

// profileUsedBy lists the instances that use a profile.
func (f *Fake) profileUsedBy(name string) []engine.Address {
	var out []engine.Address
	for _, i := range slices.Sorted(maps.Keys(f.Instances)) {
		if slices.Contains(f.Instances[i].Profiles, name) {
			out = append(out, engine.Address{Kind: engine.KindNode, Name: i})
		}
	}
	return out
}

// checkDevices refuses a NIC on a network that does not exist, as LXD
// does when it validates an instance's or a profile's devices (with an
// error that is not a 404).
func (f *Fake) checkDevices(devs map[string]map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(devs)) {
		d := devs[name]
		if d["type"] != "nic" || d["network"] == "" {
			continue
		}
		if _, ok := f.Networks[d["network"]]; !ok {
			return fmt.Errorf("device validation failed for %q: network %q does not exist", name, d["network"])
		}
	}
	return nil
}

// checkReferences refuses an instance whose profiles or NIC networks do
// not exist.
func (f *Fake) checkReferences(i engine.Instance) error {
	for _, p := range i.Profiles {
		if _, ok := f.Profiles[p]; !ok {
			return fmt.Errorf("instance %q: profile %q does not exist", i.Name, p)
		}
	}
	if err := f.checkDevices(i.Devices); err != nil {
		return fmt.Errorf("instance %q: %w", i.Name, err)
	}
	return nil
}

// stale says whether an update's ETag is stale; an empty one never is
// (the adapter then writes unconditionally).
func stale(sent, current string) bool { return sent != "" && sent != current }

// forwardNetwork checks that a network exists (else ErrNotFound) and can
// have forwards (else LXD's refusal, which is not a 404).
func (f *Fake) forwardNetwork(name string) error {
	n, ok := f.Networks[name]
	switch {
	case !ok:
		return fmt.Errorf("network %q: %w", name, engine.ErrNotFound)
	case !n.Managed || !spec.ForwardCapable(n.Type):
		return fmt.Errorf("network %q: network driver %q does not support forwards", name, n.Type)
	}
	return nil
}

// reservations are an instance's addresses as the adapter lists them:
// each NIC (its own or a profile's) with a DHCP reservation (ipv4.address)
// has that address, running or not.
func (f *Fake) reservations(i engine.Instance) map[string][]string {
	out := map[string][]string{}
	for name, d := range f.expandedDevices(i) {
		if d["type"] == "nic" && d["ipv4.address"] != "" {
			out[name] = []string{d["ipv4.address"]}
		}
	}
	return out
}

// checkTargets refuses a forward whose IPv4 targets lie outside the
// network's subnet, as LXD does.
func (f *Fake) checkTargets(fw engine.Forward) error {
	n := f.Networks[fw.Network]
	subnet, err := netip.ParsePrefix(n.Config["ipv4.address"])
	if err != nil || f.autoSubnet[n.Name] {
		return nil // no IPv4 subnet the fake knows of
	}
	targets := []string{fw.Config["target_address"]}
	for _, p := range fw.Ports {
		targets = append(targets, p.TargetAddress)
	}
	for _, t := range targets {
		if a, err := netip.ParseAddr(t); err == nil && a.Is4() && !subnet.Masked().Contains(a) {
			return fmt.Errorf("forward %s on network %q: target address %s is not in the network's subnet %s", fw.ListenAddress, n.Name, t, subnet.Masked())
		}
	}
	return nil
}
