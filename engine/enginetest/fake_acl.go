package enginetest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/lxnetd/lxnetd/engine"
)

// ACLs in the fake behave as LXD 5.0's network ACLs: ETags, used_by
// (networks by their security.acls key, profiles and instances by their
// NICs' security.acls property), and a refused delete while in use.

func cloneACL(a engine.ACL) engine.ACL {
	a.Config = cloneMap(a.Config)
	a.Ingress, a.Egress = slices.Clone(a.Ingress), slices.Clone(a.Egress)
	a.UsedBy = nil
	return a
}

// fillRuleState gives rules without a state LXD's default, as LXD does.
func fillRuleState(rs []engine.ACLRule) []engine.ACLRule {
	out := slices.Clone(rs)
	for i := range out {
		if out[i].State == "" {
			out[i].State = "enabled"
		}
	}
	return out
}

func (f *Fake) CreateACL(_ context.Context, a engine.ACL) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := creating(f, "create-acl", f.ACLs, "network ACL", a.Name); err != nil {
		return err
	}
	if f.ACLs == nil {
		f.ACLs = map[string]engine.ACL{}
	}
	a = cloneACL(a)
	a.Ingress, a.Egress, a.ETag = fillRuleState(a.Ingress), fillRuleState(a.Egress), f.nextETag()
	f.ACLs[a.Name] = a
	return nil
}

func (f *Fake) UpdateACL(_ context.Context, a engine.ACL) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	old, err := stored(f, "update-acl", f.ACLs, a.Name)
	if err != nil {
		return err
	}
	if stale(a.ETag, old.ETag) {
		return engine.ErrPreconditionFailed
	}
	a = cloneACL(a)
	a.Ingress, a.Egress, a.ETag = fillRuleState(a.Ingress), fillRuleState(a.Egress), f.nextETag()
	f.ACLs[a.Name] = a
	return nil
}

func (f *Fake) DeleteACL(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := stored(f, "delete-acl", f.ACLs, name); err != nil {
		return err
	}
	if len(f.aclUsedBy(name)) > 0 {
		return fmt.Errorf("network ACL %q is in use", name)
	}
	delete(f.ACLs, name)
	return nil
}

// aclUsedBy lists what names the ACL, sorted. Called with f.mu held.
func (f *Fake) aclUsedBy(name string) []engine.Address {
	names := func(v string) []string {
		var out []string
		for _, s := range strings.Split(v, ",") {
			out = append(out, strings.TrimSpace(s))
		}
		return out
	}
	devs := func(d map[string]map[string]string) bool {
		for _, dev := range d {
			if dev["type"] == "nic" && slices.Contains(names(dev[engine.ACLsKey]), name) {
				return true
			}
		}
		return false
	}
	var out []engine.Address
	for _, k := range slices.Sorted(maps.Keys(f.Networks)) {
		if slices.Contains(names(f.Networks[k].Config[engine.ACLsKey]), name) {
			out = append(out, engine.Address{Kind: engine.KindNetwork, Name: k})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(f.Profiles)) {
		if devs(f.Profiles[k].Devices) {
			out = append(out, engine.Address{Kind: engine.KindProfile, Name: k})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(f.Instances)) {
		if devs(f.Instances[k].Devices) {
			out = append(out, engine.Address{Kind: engine.KindNode, Name: k})
		}
	}
	slices.SortFunc(out, func(a, b engine.Address) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// checkACLs refuses a network config naming an ACL that does not exist,
// as LXD does. Called with f.mu held.
func (f *Fake) checkACLs(cfg map[string]string) error {
	for _, n := range strings.Split(cfg[engine.ACLsKey], ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		if _, ok := f.ACLs[n]; !ok {
			return fmt.Errorf("network ACL %q does not exist", n)
		}
	}
	return nil
}
