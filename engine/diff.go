package engine

import (
	"maps"
	"slices"
	"sort"
	"strings"
)

// ownership is what the tags of an observed object say.
type ownership struct {
	owned   bool     // carries this owner's tag
	other   string   // another owner's tag, if any
	keys    []string // config keys lxnetd set
	devices []string // device names lxnetd set
}

func ownershipOf(cfg map[string]string, owner string) ownership {
	o := cfg[TagOwner]
	if o != owner {
		return ownership{other: o}
	}
	return ownership{owned: true, keys: splitList(cfg[TagKeys]), devices: splitList(cfg[TagDevices])}
}

// diffConfig compares the keys lxnetd manages: declared keys are set when
// they differ, keys lxnetd set earlier and no longer declares are unset, and
// nothing else is touched. It also brings the ownership tags up to date.
func diffConfig(obs, want map[string]string, own ownership, owner string, devices []string, tagDevices bool, p *Patch) []KeyDiff {
	var diffs []KeyDiff
	set := func(k, v string) {
		ov, oh := obs[k]
		diffs = append(diffs, KeyDiff{Key: "config." + k, Before: strPtr(ov, oh), After: &v})
		if p.SetConfig == nil {
			p.SetConfig = map[string]string{}
		}
		p.SetConfig[k] = v
	}
	unset := func(k string) {
		ov := obs[k]
		diffs = append(diffs, KeyDiff{Key: "config." + k, Before: &ov})
		p.UnsetConfig = append(p.UnsetConfig, k)
	}
	var keys []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if !managedKey(k) {
			continue
		}
		keys = append(keys, k)
		if ov, oh := obs[k]; !oh || !equalValue(k, ov, want[k]) {
			set(k, want[k])
		}
	}
	for _, k := range own.keys {
		if _, declared := want[k]; declared || !managedKey(k) {
			continue
		}
		if _, present := obs[k]; present {
			unset(k)
		}
	}
	if obs[TagOwner] != owner {
		set(TagOwner, owner)
	}
	tag := func(k string, items []string) {
		v := joinList(items)
		ov, oh := obs[k]
		switch {
		case v == "" && oh:
			unset(k)
		case v != "" && ov != v:
			set(k, v)
		}
	}
	tag(TagKeys, keys)
	if tagDevices {
		tag(TagDevices, devices)
	}
	return diffs
}

// diffDevices compares declared devices with what is there, and removes
// devices lxnetd set earlier and no longer declares. Unowned devices are left
// alone. It returns the device names lxnetd owns afterwards.
func diffDevices(obs, want map[string]map[string]string, own ownership, p *Patch) ([]KeyDiff, []string) {
	var diffs []KeyDiff
	names := slices.Sorted(maps.Keys(want))
	for _, name := range names {
		od, ok := obs[name]
		if ok && equalDevice(od, want[name]) {
			continue
		}
		if !ok {
			od = nil
		}
		diffs = append(diffs, deviceDiffs(name, od, want[name])...)
		if p.SetDevices == nil {
			p.SetDevices = map[string]map[string]string{}
		}
		p.SetDevices[name] = want[name]
	}
	for _, name := range own.devices {
		if _, declared := want[name]; declared {
			continue
		}
		if od, present := obs[name]; present {
			diffs = append(diffs, deviceDiffs(name, od, nil)...)
			p.RemoveDevices = append(p.RemoveDevices, name)
		}
	}
	return diffs, names
}

func diffDescription(obs, want string, p *Patch) []KeyDiff {
	if want == "" || obs == want {
		return nil
	}
	p.Description = &want
	return []KeyDiff{{Key: "description", Before: strPtr(obs, obs != ""), After: &want}}
}

// creationDiffs lists every field of an object being created.
func creationDiffs(description string, cfg map[string]string, devices map[string]map[string]string) []KeyDiff {
	var diffs []KeyDiff
	if description != "" {
		diffs = append(diffs, KeyDiff{Key: "description", After: &description})
	}
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		v := cfg[k]
		diffs = append(diffs, KeyDiff{Key: "config." + k, After: &v})
	}
	for _, name := range slices.Sorted(maps.Keys(devices)) {
		diffs = append(diffs, deviceDiffs(name, nil, devices[name])...)
	}
	return diffs
}

// deletionDiffs lists the fields of an object being deleted that lxnetd set.
func deletionDiffs(description string, cfg map[string]string, devices map[string]map[string]string, own ownership) []KeyDiff {
	var diffs []KeyDiff
	for _, k := range own.keys {
		if v, ok := cfg[k]; ok {
			diffs = append(diffs, KeyDiff{Key: "config." + k, Before: &v})
		}
	}
	for _, name := range own.devices {
		if d, ok := devices[name]; ok {
			diffs = append(diffs, deviceDiffs(name, d, nil)...)
		}
	}
	sortDiffs(diffs)
	return diffs
}

// diffPorts compares forward ports by (protocol, listen port).
func diffPorts(obs, want []ForwardPort) []KeyDiff {
	index := func(ps []ForwardPort) map[string]ForwardPort {
		m := make(map[string]ForwardPort, len(ps))
		for _, p := range ps {
			p = normalizePort(p)
			m[portKey{p.Protocol, p.ListenPort}.String()] = p
		}
		return m
	}
	o, w := index(obs), index(want)
	var diffs []KeyDiff
	for _, k := range unionKeys(o, w) {
		op, oh := o[k]
		wp, wh := w[k]
		if oh && wh && op == wp {
			continue
		}
		var before, after *string
		if oh {
			s := portTarget(op)
			before = &s
		}
		if wh {
			s := portTarget(wp)
			after = &s
		}
		diffs = append(diffs, KeyDiff{Key: "ports." + k, Before: before, After: after})
	}
	return diffs
}

func sortDiffs(d []KeyDiff) {
	sort.SliceStable(d, func(i, j int) bool { return d[i].Key < d[j].Key })
}

func profilesString(p []string) string { return strings.Join(p, ", ") }

// sortPorts orders forward ports for a stable write and display.
func sortPorts(ps []ForwardPort) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Protocol != ps[j].Protocol {
			return ps[i].Protocol < ps[j].Protocol
		}
		return ps[i].ListenPort < ps[j].ListenPort
	})
}
