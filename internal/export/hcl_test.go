package export

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lxnetd/lxnetd/config"
	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
)

var update = flag.Bool("update", false, "rewrite testdata/export/sample.hcl")

// mustLoad evaluates files as a configuration directory.
func mustLoad(t *testing.T, files map[string]string, opts config.Options) *spec.Config {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, content := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(content)}
	}
	cfg, diags := config.LoadFS(fsys, opts)
	if diags.HasErrors() {
		var b bytes.Buffer
		_ = diags.WriteText(&b, false)
		t.Fatalf("unexpected diagnostics:\n%s", b.String())
	}
	return cfg
}

// exportSample is a hand-built LXD as the engine reads it: a bridge with
// LXD-filled keys, a profile, two instances (one attached through the
// profile only), a forward with ports to one of them, and the ownership and
// volatile keys that must not be exported.
func exportSample() Set {
	return Set{
		Remote: "vm1", RemoteAttr: true,
		Networks: []engine.Network{{
			Name: "br-web", Type: "bridge", Managed: true, Description: "web LAN",
			Config: map[string]string{"ipv4.address": "10.231.5.1/24", "ipv4.nat": "true", "ipv6.address": "none", "volatile.bridge.hwaddr": "00:16:3e:00:00:01"},
		}},
		Profiles: []engine.Profile{{
			Name:   "web.tier",
			Config: map[string]string{"limits.memory": "256MB", "user.note": "${not a template}"},
			Devices: map[string]map[string]string{
				"eth1":  {"type": "nic", "network": "br-web", "name": "eth1"},
				"https": {"type": "proxy", "listen": "tcp:0.0.0.0:8443", "connect": "tcp:127.0.0.1:443", "proxy_protocol": "true"},
			},
		}},
		Instances: []engine.Instance{
			{
				Name: "web1", Type: "container", Status: "Running", Profiles: []string{"default", "web.tier"},
				Config:  map[string]string{"image.os": "busybox", "volatile.base_image": "abc123", "volatile.eth0.hwaddr": "00:16:3e:00:00:02", "security.nesting": "true"},
				Devices: map[string]map[string]string{"eth0": {"type": "nic", "network": "br-web", "name": "eth0", "ipv4.address": "10.231.5.10"}},
			},
			{
				Name: "9db", Type: "virtual-machine", Status: "Stopped", Profiles: []string{"default"},
				Config: map[string]string{"volatile.base_image": "def456"},
			},
		},
		Forwards: []engine.Forward{{
			Network: "br-web", ListenAddress: "198.51.100.7", Description: "public",
			Config: map[string]string{"target_address": "10.231.5.99", "user.note": "dropped"},
			Ports: []engine.ForwardPort{
				{Protocol: "tcp", ListenPort: "80", TargetAddress: "10.231.5.10"},
				{Protocol: "udp", ListenPort: "5353", TargetAddress: "10.231.5.11", TargetPort: "53", Description: "dns"},
			},
		}},
	}
}

func TestExportGolden(t *testing.T) {
	got := Render([]Set{exportSample()})
	path := filepath.Join("testdata", "export", "sample.hcl")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/export -run TestExportGolden -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("export (-want +got):\n%s", diff)
	}
	// lxnetd fmt --check accepts it as written.
	if formatted, _ := config.Format("sample.hcl", got); string(formatted) != string(got) {
		t.Errorf("export is not in canonical format:\n%s", formatted)
	}
}

// TestExportLoads: the exported file plus a remote block is a valid
// configuration that describes exactly the exported objects, all adopted.
func TestExportLoads(t *testing.T) {
	out := Render([]Set{exportSample()})
	cfg := mustLoad(t, map[string]string{
		"remote.hcl":   `remote "vm1" { address = "unix://" }`,
		"exported.hcl": string(out),
	}, config.Options{})
	r := cfg.Remotes["vm1"]
	if r == nil {
		t.Fatalf("no remote vm1 in %+v", cfg.Remotes)
	}
	if len(r.Networks) != 1 || !r.Networks[0].Adopt || r.Networks[0].Name != "br-web" {
		t.Errorf("networks: %+v", r.Networks)
	}
	wantNet := map[string]string{"ipv4.address": "10.231.5.1/24", "ipv4.nat": "true", "ipv6.address": "none"}
	if diff := cmp.Diff(wantNet, r.Networks[0].Config); diff != "" {
		t.Errorf("network config (-want +got):\n%s", diff)
	}
	if len(r.Profiles) != 1 || r.Profiles[0].Name != "web.tier" || r.Profiles[0].Config["user.note"] != "${not a template}" ||
		r.Profiles[0].Devices["https"]["proxy_protocol"] != "true" {
		t.Errorf("profiles: %+v", r.Profiles)
	}
	byName := map[string]spec.Instance{}
	for _, i := range r.Instances {
		byName[i.Name] = i
	}
	web, db := byName["web1"], byName["9db"]
	if !web.Adopt || web.Image != "abc123" || web.IPv4 != "10.231.5.10" || web.Network != "br-web" ||
		!cmp.Equal(web.Profiles, []string{"default", "web.tier"}) || !cmp.Equal(web.Config, map[string]string{"security.nesting": "true"}) {
		t.Errorf("web1: %+v", web)
	}
	if db.Type != "virtual-machine" || db.State != "stopped" || len(db.Config) != 0 {
		t.Errorf("9db: %+v", db)
	}
	if len(r.Forwards) != 1 {
		t.Fatalf("forwards: %+v", r.Forwards)
	}
	f := r.Forwards[0]
	wantPorts := []spec.ForwardPort{
		{Protocol: "tcp", ListenPort: "80", TargetAddress: "10.231.5.10", TargetNode: "web1"},
		{Protocol: "udp", ListenPort: "5353", TargetAddress: "10.231.5.11", TargetPort: "53", Description: "dns"},
	}
	if !f.Adopt || f.Network != "br-web" || f.ListenAddress != "198.51.100.7" || f.DefaultTarget != "10.231.5.99" || f.Description != "public" {
		t.Errorf("forward: %+v", f)
	}
	if diff := cmp.Diff(wantPorts, f.Ports, cmpopts.IgnoreTypes(spec.Pos{})); diff != "" {
		t.Errorf("forward ports (-want +got):\n%s", diff)
	}
}

func TestExportRemoteBlockAndLabels(t *testing.T) {
	a := Set{Remote: "a", RemoteAttr: true, RemoteBlock: &spec.Remote{Name: "a", Address: "https://10.0.0.1:8443",
		ClientCert: "client.crt", ClientKey: "client.key", ServerFingerprint: "sha256:" + sixtyFour('a')},
		Networks: []engine.Network{{Name: "lxdbr0", Type: "bridge", Managed: true, Config: map[string]string{"ipv4.address": "10.231.6.1/24"}}}}
	b := Set{Remote: "b", RemoteAttr: true, RemoteBlock: &spec.Remote{Name: "b", Address: "unix:///run/lxd.socket"},
		Networks: []engine.Network{{Name: "lxdbr0", Type: "bridge", Managed: true, Config: map[string]string{"ipv4.address": "10.231.7.1/24"}}}}
	out := Render([]Set{a, b})
	// validate checks that the certificate files exist
	cfg := mustLoad(t, map[string]string{"exported.hcl": string(out), "client.crt": "placeholder", "client.key": "placeholder"}, config.Options{})
	if cfg.Remotes["a"].Networks[0].Config["ipv4.address"] != "10.231.6.1/24" || cfg.Remotes["b"].Networks[0].Config["ipv4.address"] != "10.231.7.1/24" {
		t.Errorf("same network name on two remotes:\n%s", out)
	}
	if cfg.Remotes["a"].ServerFingerprint != "sha256:"+sixtyFour('a') {
		t.Errorf("remote a: %+v", cfg.Remotes["a"])
	}
}

func sixtyFour(c byte) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return string(b)
}
