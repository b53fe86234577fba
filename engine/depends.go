package engine

import (
	"maps"
	"slices"
)

// dependencies are the objects a change needs to have been written first,
// by address. Apply skips a change when one of them failed, and runs
// everything else: a node needs the networks its devices attach to and its
// profiles, a profile its networks, a forward its network; a delete needs
// the deletes or updates of what used the object (its forwards, and the
// instances and profiles LXD lists in used_by).
func dependencies(c *Change) []Address {
	var out []Address
	if c.Action == Delete {
		switch c.Addr.Kind {
		case KindNetwork:
			out = append(out, c.Network.UsedBy...)
			// Forwards are not in used_by; any forward change on the network counts.
			out = append(out, Address{Kind: KindForward, Network: c.Addr.Name})
		case KindProfile:
			out = append(out, c.Profile.UsedBy...)
		case KindACL:
			out = append(out, c.ACL.UsedBy...)
		}
		return out
	}
	devices := map[string]map[string]string{}
	var profiles []string
	switch c.Addr.Kind {
	case KindProfile:
		maps.Copy(devices, c.Profile.Devices)
	case KindNode:
		maps.Copy(devices, c.Instance.Devices)
		profiles = c.Instance.Profiles
	case KindForward:
		return []Address{{Kind: KindNetwork, Name: c.Addr.Network}}
	}
	if c.Patch != nil {
		maps.Copy(devices, c.Patch.SetDevices)
		if c.Patch.Profiles != nil {
			profiles = c.Patch.Profiles
		}
	}
	for _, name := range slices.Sorted(maps.Keys(devices)) {
		if n := deviceNetwork(devices[name]); n != "" {
			out = append(out, Address{Kind: KindNetwork, Name: n})
		}
	}
	for _, p := range profiles {
		out = append(out, Address{Kind: KindProfile, Name: p})
	}
	return append(out, aclDependencies(c, devices)...)
}

// UsesNetwork reports whether any of devices attaches to network (the
// test LXD applies to list an instance or profile in a network's used_by).
func UsesNetwork(devices map[string]map[string]string, network string) bool {
	for _, d := range devices {
		if deviceNetwork(d) == network {
			return true
		}
	}
	return false
}

// deviceNetwork is the LXD network a device attaches to: a nic's network,
// or a managed network named as its parent; "" for none.
func deviceNetwork(d map[string]string) string {
	if d["type"] != "nic" {
		return ""
	}
	if n := d["network"]; n != "" {
		return n
	}
	return d["parent"]
}
