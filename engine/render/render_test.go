package render_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
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
