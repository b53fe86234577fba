package lxd

import (
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/lxnetd/lxnetd/engine"
)

// LXD names objects by API paths: in a network's or profile's used_by
// ("/1.0/instances/c1?project=p") and in a lifecycle event's source
// ("/1.0/networks/br0/forwards/198.51.100.10"). They are parsed here, and
// nowhere else, into the engine's typed addresses.

// apiPath splits an API path into its segments after "/1.0", unescaped;
// ok is false when it is not one.
func apiPath(s string) (segments []string, ok bool) {
	path := s
	if u, err := url.Parse(s); err == nil {
		path = u.Path
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 2 || parts[0] != "1.0" {
		return nil, false
	}
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, false
		}
		parts[i] = u
	}
	return parts[1:], true
}

// usedBy turns used_by URLs into the addresses of the instances and
// profiles among them, sorted (LXD lists them in any order). Other users
// (storage volumes, ...) are left out: the engine never plans them.
func usedBy(urls []string) []engine.Address {
	var out []engine.Address
	for _, s := range urls {
		seg, ok := apiPath(s)
		if !ok || len(seg) < 2 {
			continue
		}
		switch seg[0] {
		case "instances", "containers", "virtual-machines":
			out = append(out, engine.Address{Kind: engine.KindNode, Name: seg[1]})
		case "profiles":
			out = append(out, engine.Address{Kind: engine.KindProfile, Name: seg[1]})
		}
	}
	slices.SortFunc(out, func(a, b engine.Address) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// EventOf reduces a lifecycle event's source to the object it names.
func EventOf(source string) engine.Event {
	if u, err := url.Parse(source); err == nil && strings.Trim(u.Path, "/") == "1.0" {
		// The server configuration (config-updated), where leases live:
		// every lease renewal sends one.
		return engine.Event{Unplanned: true}
	}
	seg, ok := apiPath(source)
	if !ok || len(seg) < 2 {
		return engine.Event{}
	}
	switch seg[0] {
	case "images":
		return engine.Event{Unplanned: true, Images: true}
	case "networks":
		if len(seg) >= 4 && seg[2] == "forwards" {
			return engine.Event{Object: engine.Address{Kind: engine.KindForward, Network: seg[1], Name: seg[3]}}
		}
		return engine.Event{Object: engine.Address{Kind: engine.KindNetwork, Name: seg[1]}}
	case "profiles":
		return engine.Event{Object: engine.Address{Kind: engine.KindProfile, Name: seg[1]}}
	case "instances", "containers", "virtual-machines":
		return engine.Event{Object: engine.Address{Kind: engine.KindNode, Name: seg[1]}}
	case "network-acls":
		return engine.Event{Object: engine.Address{Kind: engine.KindACL, Name: seg[1]}}
	case "storage-pools", "operations", "certificates", "warnings", "network-zones":
		return engine.Event{Unplanned: true}
	}
	return engine.Event{}
}

// renamedFrom is the source path an object had before the rename an event
// reports (LXD names the new path in source and the old name in the
// context's old_name), so that the object under its old name is read
// again too: it is gone. ok is false for any other event.
func renamedFrom(source string, context map[string]any) (old string, ok bool) {
	name, _ := context["old_name"].(string)
	if name == "" {
		return "", false
	}
	u, err := url.Parse(source)
	if err != nil || !strings.HasPrefix(u.Path, "/1.0/") {
		return "", false
	}
	u.Path = path.Join(path.Dir(u.Path), name)
	u.RawPath = ""
	return u.String(), true
}
