package render_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/enginetest"
	"github.com/lxnetd/lxnetd/engine/render"
	"github.com/lxnetd/lxnetd/engine/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/plans")

var settings = spec.Settings{Owner: "demo"}

func config() *spec.Remote {
	return &spec.Remote{
		Name: "local",
		Networks: []spec.Network{{
			Meta: spec.Meta{Addr: "network.lxnq0", Pos: spec.Pos{File: "net.hcl", Line: 1, Column: 1}}, Name: "lxnq0", Type: "bridge",
			Config: map[string]string{"ipv4.address": "10.231.9.1/24", "ipv4.nat": "true", "ipv6.address": "none"},
		}},
		Instances: []spec.Instance{{
			Meta: spec.Meta{Addr: "node.web1", Pos: spec.Pos{File: "web.hcl", Line: 1, Column: 1}}, Name: "web1", Image: "busybox",
			Profiles: []string{"default"},
			Devices:  map[string]spec.Device{"eth0": {"type": "nic", "network": "lxnq0", "ipv4.address": "10.231.9.10"}},
			IPv4:     "10.231.9.10", NIC: "eth0", Network: "lxnq0",
		}},
		Exposures: []spec.Exposure{
			{Service: "web", Port: "http", Addr: `service.web.port["http"]`, Instance: "web1", Network: "lxnq0",
				TargetAddress: "10.231.9.10", Protocol: "tcp", ListenAddress: "198.51.100.10", ListenPort: "80", Via: spec.ViaForward},
			{Service: "web", Port: "alt", Addr: `service.web.port["alt"]`, Instance: "web1",
				Protocol: "tcp", ListenAddress: "0.0.0.0", ListenPort: "8080", TargetPort: "80", Via: spec.ViaProxy},
		},
	}
}

func newPlan(t *testing.T, f *enginetest.Fake, d *spec.Remote, s spec.Settings) *engine.Plan {
	t.Helper()
	p, err := engine.NewPlan(context.Background(), f, d, s, engine.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "plans", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./engine/render -update)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s (-want +got):\n%s", name, d)
	}
}

// TestGolden renders the plans of one configuration's life: create, no-op,
// hand-made drift, and removal, in both forms.
func TestGolden(t *testing.T) {
	f := enginetest.New("local")
	steps := []struct {
		name  string
		setup func() *spec.Remote
	}{
		{"create", config},
		{"noop", config},
		{"drift", func() *spec.Remote {
			fw := f.Forwards["lxnq0"]["198.51.100.10"]
			fw.Ports = nil
			f.Forwards["lxnq0"]["198.51.100.10"] = fw
			n := f.Networks["lxnq0"]
			n.Config["ipv4.nat"] = "false"
			n.Config["dns.domain"] = "by.hand"
			f.Networks["lxnq0"] = n
			i := f.Instances["web1"]
			delete(i.Devices, "lxnetd-web-alt")
			f.Instances["web1"] = i
			return config()
		}},
		{"change", func() *spec.Remote {
			c := config()
			c.Exposures = c.Exposures[:1]
			c.Exposures[0].TargetPort = "8000"
			delete(c.Networks[0].Config, "ipv6.address")
			return c
		}},
		{"remove", func() *spec.Remote { return &spec.Remote{Name: "local"} }},
	}
	s := settings
	s.DeleteInstances = true
	for _, st := range steps {
		p := newPlan(t, f, st.setup(), s)
		p.Requests = 0 // depends on the fake, not on the rendering
		var h, h2, j bytes.Buffer
		if err := render.Human(&h, []*engine.Plan{p}, false); err != nil {
			t.Fatal(err)
		}
		if err := render.Human(&h2, []*engine.Plan{p}, true); err != nil {
			t.Fatal(err)
		}
		if err := render.JSON(&j, []*engine.Plan{p}); err != nil {
			t.Fatal(err)
		}
		golden(t, st.name+".txt", h.Bytes())
		golden(t, st.name+".json", j.Bytes())
		if bytes.Equal(h.Bytes(), h2.Bytes()) || !bytes.Contains(h2.Bytes(), []byte("\x1b[")) {
			t.Errorf("%s: colour output has no colour", st.name)
		}
		if bytes.Contains(h.Bytes(), []byte("\x1b[")) {
			t.Errorf("%s: plain output has escape codes", st.name)
		}
		if _, err := engine.Apply(context.Background(), f, p, engine.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGoldenWarnings renders plans whose only content (or part of it) is
// what lxnetd leaves in place: an orphaned instance, a delete blocked by an
// instance lxnetd does not manage, and a removal that leaves both. None of
// them may claim that LXD matches the configuration.
func TestGoldenWarnings(t *testing.T) {
	networkOnly := func() *spec.Remote {
		c := config()
		c.Instances, c.Exposures = nil, nil
		return c
	}
	nodeNoServices := func() *spec.Remote {
		c := config()
		c.Exposures = nil
		return c
	}
	hand := engine.Instance{Name: "hand", Type: "container", Status: "Running", ETag: "h", Config: map[string]string{},
		Devices: map[string]map[string]string{"eth0": {"type": "nic", "network": "lxnq0"}}}
	cases := []struct {
		name     string
		before   func() *spec.Remote // applied first
		byHand   func(f *enginetest.Fake)
		after    func() *spec.Remote // planned, delete_instances = false
		warnings []string            // kind address
		changes  bool
	}{
		{name: "orphan", before: nodeNoServices, after: networkOnly,
			warnings: []string{"orphan node.web1"}},
		{name: "blocked", before: networkOnly, byHand: func(f *enginetest.Fake) { f.Instances["hand"] = hand },
			after: func() *spec.Remote { return &spec.Remote{Name: "local"} }, warnings: []string{"blocked network.lxnq0"}},
		{name: "orphan-blocks", before: config, after: func() *spec.Remote { return &spec.Remote{Name: "local"} },
			warnings: []string{"orphan node.web1", "blocked network.lxnq0"}, changes: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := enginetest.New("local")
			if _, err := engine.Apply(context.Background(), f, newPlan(t, f, tc.before(), settings), engine.ApplyOptions{}); err != nil {
				t.Fatal(err)
			}
			if tc.byHand != nil {
				tc.byHand(f)
			}
			p := newPlan(t, f, tc.after(), settings)
			p.Requests = 0
			var got []string
			for _, w := range render.Warnings(p) {
				got = append(got, w.Kind+" "+w.Address)
				if w.Summary == "" || w.Detail == "" {
					t.Errorf("warning without summary or detail: %+v", w)
				}
			}
			if d := cmp.Diff(tc.warnings, got); d != "" {
				t.Fatalf("warnings (-want +got):\n%s", d)
			}
			if p.Empty() == tc.changes {
				t.Fatalf("plan has changes = %v, want %v", !p.Empty(), tc.changes)
			}
			var h, j bytes.Buffer
			if err := render.Human(&h, []*engine.Plan{p}, false); err != nil {
				t.Fatal(err)
			}
			if err := render.JSON(&j, []*engine.Plan{p}); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".txt", h.Bytes())
			golden(t, tc.name+".json", j.Bytes())
			if bytes.Contains(h.Bytes(), []byte("matches")) {
				t.Errorf("a plan with warnings says LXD matches the configuration:\n%s", h.String())
			}
			if n := bytes.Count(h.Bytes(), []byte("Warning: ")); n != len(tc.warnings) {
				t.Errorf("%d Warning: headings, want %d:\n%s", n, len(tc.warnings), h.String())
			}
			var js struct {
				Changes bool
				Summary struct{ Warnings int }
				Remotes []struct{ Warnings []render.Warning }
			}
			if err := json.Unmarshal(j.Bytes(), &js); err != nil {
				t.Fatal(err)
			}
			if js.Changes != tc.changes || js.Summary.Warnings != len(tc.warnings) || len(js.Remotes[0].Warnings) != len(tc.warnings) {
				t.Errorf("JSON: changes %v, %d warnings in the summary, %d listed; want %v, %d",
					js.Changes, js.Summary.Warnings, len(js.Remotes[0].Warnings), tc.changes, len(tc.warnings))
			}
		})
	}
}

// TestBlockedReplaceWarning: a replace blocked by a user says how to unblock
// a replace (not "declare it again", which would not help).
func TestBlockedReplaceWarning(t *testing.T) {
	f := enginetest.New("local")
	net := func(typ string, cfg map[string]string) *spec.Remote {
		return &spec.Remote{Name: "local", Networks: []spec.Network{{Meta: spec.Meta{Addr: "network.n"}, Name: "n0", Type: typ, Config: cfg}}}
	}
	if _, err := engine.Apply(context.Background(), f, newPlan(t, f, net("bridge", map[string]string{"ipv4.address": "10.231.2.1/24"}), settings), engine.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	f.Instances["hand"] = engine.Instance{Name: "hand", Devices: map[string]map[string]string{"eth0": {"type": "nic", "network": "n0"}}}
	p := newPlan(t, f, net("macvlan", map[string]string{"parent": "eth0"}), settings)
	ws := render.Warnings(p)
	if len(ws) != 1 || ws[0].Kind != render.WarnBlocked || ws[0].Address != "network.n0" ||
		ws[0].Summary != "network.n0 is not replaced" || !strings.Contains(ws[0].Detail, `Still used by instance "hand"`) ||
		!strings.Contains(ws[0].Detail, "undo the change that forces the replacement") {
		t.Fatalf("warnings: %+v", ws)
	}
}

// TestServerInHeadingAndHints: a plan of a known server names it in its
// heading and in --json, and an orphan's hint uses that server's client.
func TestServerInHeadingAndHints(t *testing.T) {
	p := &engine.Plan{Remote: "edge", Owner: "o", Orphans: []string{"node.old"},
		Server: engine.ServerInfo{Kind: engine.ServerIncus, Version: "6.0.4", Name: "host1"}}
	var b strings.Builder
	if err := render.Human(&b, []*engine.Plan{p}, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`Remote "edge" (Incus 6.0.4): no changes, 1 warning.`, "`incus delete --force old`"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("plan text lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := render.JSON(&b, []*engine.Plan{p}); err != nil {
		t.Fatal(err)
	}
	var js struct {
		Remotes []struct {
			Server struct{ Kind, Version, Name string }
		}
	}
	if err := json.Unmarshal([]byte(b.String()), &js); err != nil || len(js.Remotes) != 1 ||
		js.Remotes[0].Server.Kind != "incus" || js.Remotes[0].Server.Version != "6.0.4" || js.Remotes[0].Server.Name != "host1" {
		t.Errorf("plan --json lacks the server (%v):\n%s", err, b.String())
	}
	p.Server = engine.ServerInfo{}
	b.Reset()
	if err := render.Human(&b, []*engine.Plan{p}, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `Remote "edge": no changes, 1 warning.`) || !strings.Contains(b.String(), "`lxc delete --force old`") {
		t.Errorf("a plan without a server:\n%s", b.String())
	}
}
