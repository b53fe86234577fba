package lxd

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lxnetd/lxnetd/engine"
)

func TestEventOf(t *testing.T) {
	addr := func(k engine.Kind, name string) engine.Event {
		return engine.Event{Object: engine.Address{Kind: k, Name: name}}
	}
	for src, want := range map[string]engine.Event{
		"/1.0/networks/br0":                        addr(engine.KindNetwork, "br0"),
		"/1.0/networks/br3/forwards/198.51.100.10": {Object: engine.Address{Kind: engine.KindForward, Network: "br3", Name: "198.51.100.10"}},
		"/1.0/profiles/web":                        addr(engine.KindProfile, "web"),
		"/1.0/instances/web1":                      addr(engine.KindNode, "web1"),
		"/1.0/instances/web2?project=default":      addr(engine.KindNode, "web2"),
		"/1.0/containers/c1":                       addr(engine.KindNode, "c1"),
		"/1.0/networks/b%72%30":                    addr(engine.KindNetwork, "br0"), // escaped
		"/1.0/images/abc":                          {Unplanned: true, Images: true},
		"/1.0/images/aliases/web":                  {Unplanned: true, Images: true},
		"/1.0/storage-pools/default":               {Unplanned: true},
		"/1.0/operations/x":                        {Unplanned: true},
		"/1.0/projects/p":                          {},
		"/1.0":                                     {Unplanned: true}, // server config (leases)
		"/1.0/":                                    {Unplanned: true},
		"garbage":                                  {},
		"/1.0/networks/%zz":                        {},
	} {
		if got := EventOf(src); got != want {
			t.Errorf("EventOf(%q) = %+v, want %+v", src, got, want)
		}
	}
}

// A rename names the old object too, with the new one's project.
func TestRenamedFrom(t *testing.T) {
	for _, c := range []struct {
		source string
		ctx    map[string]any
		want   string // "" for none
	}{
		{"/1.0/profiles/new", map[string]any{"old_name": "old"}, "/1.0/profiles/old"},
		{"/1.0/instances/web2?project=p", map[string]any{"old_name": "web1"}, "/1.0/instances/web1?project=p"},
		{"/1.0/networks/br1", map[string]any{"old_name": "br 0"}, "/1.0/networks/br%200"},
		{"/1.0/profiles/web", nil, ""},
		{"/1.0/profiles/web", map[string]any{"old_name": 3}, ""},
		{"garbage", map[string]any{"old_name": "x"}, ""},
	} {
		got, ok := renamedFrom(c.source, c.ctx)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("renamedFrom(%q, %v) = %q, %v; want %q", c.source, c.ctx, got, ok, c.want)
		}
	}
	if ev := EventOf("/1.0/networks/br%200"); ev.Object.Name != "br 0" {
		t.Errorf("the old path reads as %+v", ev)
	}
}

func TestUsedBy(t *testing.T) {
	got := usedBy([]string{
		"/1.0/profiles/web",
		"/1.0/instances/c2?project=default",
		"/1.0/storage-pools/default/volumes/custom/v1",
		"/1.0/instances/c1",
		"not a url %%",
	})
	want := []engine.Address{{Kind: engine.KindNode, Name: "c1"}, {Kind: engine.KindNode, Name: "c2"}, {Kind: engine.KindProfile, Name: "web"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("usedBy (-want +got):\n%s", d)
	}
}
