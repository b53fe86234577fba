package engine

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// Normalization: LXD stores values as sent ("yes" stays "yes"), fills keys in
// (ipv4.address=auto becomes a subnet, volatile.*), and applies defaults to
// device properties that are never written back. Both sides are compared
// through these rules so that a freshly applied configuration plans nothing.

// Ownership tags lxnetd writes on every object it creates.
const (
	TagPrefix  = "user.lxnetd."
	TagOwner   = TagPrefix + "owner"   // the owner of the object (lxnet { owner })
	TagKeys    = TagPrefix + "keys"    // comma-separated config keys lxnetd set
	TagDevices = TagPrefix + "devices" // comma-separated device names lxnetd set
)

// managedKey reports whether a config key can be declared and owned by
// lxnetd: not LXD's volatile state and not lxnetd's own tags.
func managedKey(k string) bool {
	return !strings.HasPrefix(k, "volatile.") && !strings.HasPrefix(k, TagPrefix)
}

// autoKeys are network keys where "auto" asks LXD to pick a value it then
// stores instead of "auto".
var autoKeys = map[string]bool{"ipv4.address": true, "ipv6.address": true}

// parseBool accepts LXD's boolean spellings (shared.IsTrue/IsFalse).
func parseBool(s string) (v, ok bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "on", "1":
		return true, true
	case "false", "no", "off", "0":
		return false, true
	}
	return false, false
}

// equalValue compares an observed value with a desired one for key.
func equalValue(key, observed, desired string) bool {
	if observed == desired {
		return true
	}
	if autoKeys[key] && desired == "auto" {
		return observed != "" && observed != "none"
	}
	if ob, ok := parseBool(observed); ok {
		if db, ok := parseBool(desired); ok {
			return ob == db
		}
	}
	if of, err := strconv.ParseFloat(observed, 64); err == nil {
		if df, err := strconv.ParseFloat(desired, 64); err == nil {
			return of == df
		}
	}
	return false
}

// deviceDefaults are property values LXD assumes when a property is absent,
// per device type, so "nat=false" and no nat property compare equal.
var deviceDefaults = map[string]map[string]string{
	"proxy": {
		"bind":           "host",
		"nat":            "false",
		"proxy_protocol": "false",
		"security.uid":   "0",
		"security.gid":   "0",
		"mode":           "0644",
	},
	"disk": {
		"readonly": "false",
		"required": "true",
	},
}

// equalDevice compares two devices property by property with defaults and
// semantic values.
func equalDevice(observed, desired map[string]string) bool {
	return len(deviceDiffs("", observed, desired)) == 0
}

// deviceDiffs lists the property-level differences between an observed and a
// desired device (nil maps mean absent), keyed "devices.<name>.<prop>".
func deviceDiffs(name string, observed, desired map[string]string) []KeyDiff {
	typ := desired["type"]
	if typ == "" {
		typ = observed["type"]
	}
	defaults := deviceDefaults[typ]
	var out []KeyDiff
	for _, k := range unionKeys(observed, desired) {
		ov, oh := observed[k]
		dv, dh := desired[k]
		if !oh && observed != nil && desired != nil {
			if def, ok := defaults[k]; ok && equalValue(k, def, dv) {
				continue
			}
		}
		if !dh && observed != nil && desired != nil {
			if def, ok := defaults[k]; ok && equalValue(k, ov, def) {
				continue
			}
		}
		if oh && dh && equalValue(k, ov, dv) {
			continue
		}
		out = append(out, KeyDiff{Key: "devices." + name + "." + k, Before: strPtr(ov, oh), After: strPtr(dv, dh)})
	}
	return out
}

// normalizeListenAddress canonicalizes an IP address ("2001:DB8::1" and
// "2001:db8::1" are one forward).
func normalizeListenAddress(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.String()
	}
	return s
}

// portKey identifies a forward port rule: protocol and listen port(s).
type portKey struct{ Protocol, ListenPort string }

func (k portKey) String() string { return k.Protocol + "/" + k.ListenPort }

// normalizePort fills the defaults LXD applies to a forward port: protocol
// tcp, target port = listen port; and strips spaces from port lists.
func normalizePort(p ForwardPort) ForwardPort {
	if p.Protocol == "" {
		p.Protocol = spec.DefaultProtocol
	}
	p.ListenPort = strings.ReplaceAll(p.ListenPort, " ", "")
	p.TargetPort = strings.ReplaceAll(p.TargetPort, " ", "")
	if p.TargetPort == "" {
		p.TargetPort = p.ListenPort
	}
	p.TargetAddress = normalizeListenAddress(p.TargetAddress)
	return p
}

// portTarget renders where a port forwards to, for diffs.
func portTarget(p ForwardPort) string {
	s := hostPort(p.TargetAddress, p.TargetPort)
	if p.Description != "" {
		s += " (" + p.Description + ")"
	}
	return s
}

// hostPort joins an address and port, bracketing IPv6 addresses.
func hostPort(addr, port string) string {
	if strings.Contains(addr, ":") {
		return "[" + addr + "]:" + port
	}
	return addr + ":" + port
}

// splitList parses a comma-separated tag value.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// joinList renders a sorted, comma-separated tag value. It leaves out empty
// items, as splitList does, so that a tag reads back as it was written.
func joinList(items []string) string {
	var s []string
	for _, it := range items {
		if it != "" {
			s = append(s, it)
		}
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

// unionKeys returns the sorted union of the keys of two maps.
func unionKeys[V any](a, b map[string]V) []string {
	seen := make(map[string]bool, len(a)+len(b))
	var out []string
	for k := range a {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for k := range b {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func strPtr(s string, ok bool) *string {
	if !ok {
		return nil
	}
	return &s
}
