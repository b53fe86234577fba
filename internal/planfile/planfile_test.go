package planfile

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/enginetest"
	"github.com/lxnetd/lxnetd/engine/spec"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRoundTrip: a plan with creates, written and read back, is the same
// plan, and the file is private (mode 0600).
func TestRoundTrip(t *testing.T) {
	f := enginetest.New("local")
	desired := &spec.Remote{Name: "local",
		Networks: []spec.Network{{Meta: spec.Meta{Addr: "network.br0", Pos: spec.Pos{File: "main.hcl", Line: 3, Column: 1}},
			Name: "br0", Type: "bridge", Config: map[string]string{"ipv4.address": "10.231.9.1/24"}}},
		Forwards: []spec.Forward{{Meta: spec.Meta{Addr: "forward.fip"}, Network: "br0", ListenAddress: "198.51.100.10",
			Ports: []spec.ForwardPort{{Protocol: "tcp", ListenPort: "80", TargetAddress: "10.231.9.10"}}}},
	}
	o, err := engine.Observe(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	p, err := o.Plan(desired, spec.Settings{Owner: "t"}, engine.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Changes) != 2 {
		t.Fatalf("want 2 creates, got %d", len(p.Changes))
	}
	in := &File{
		FormatVersion: FormatVersion, LxnetdVersion: "test", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Config: Config{Dir: "/etc/lxnet.d", Hash: "abc", Inputs: map[string]string{"file main.hcl": "123"},
			Vars: map[string]string{"x": "1"}, VarFiles: []string{"/tmp/a.vars.hcl"}, Targets: []string{"network.br0"}},
		Remotes: []Remote{FromPlan(p, o.Digest(desired, "t"))},
	}
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := Write(path, in); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
	out, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(in, out); d != "" {
		t.Fatalf("round trip (-want +got):\n%s", d)
	}
	if d := cmp.Diff(p.Changes, out.Remotes[0].Plan().Changes); d != "" {
		t.Fatalf("plan (-want +got):\n%s", d)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestReadRefuses(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct{ content, want string }{
		"hcl":     {`network "x" {}`, "is not a saved plan"},
		"json":    {`{"remotes": []}`, "is not a saved plan"},
		"version": {`{"format_version": "99"}`, `format version "99"; this lxnetd reads version "1"`},
		"nodir":   {`{"format_version": "1", "config": {"dir": "rel"}}`, "no absolute configuration directory"},
	} {
		path := filepath.Join(dir, name)
		write(t, path, tc.content)
		if _, err := Read(path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, tc.want)
		}
	}
}

// TestInputs: every file under the directory (templates too) and every
// LXNET_VAR_* is an input, editor files and saved plans are not, and changes
// are named.
func TestInputs(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "main.hcl"), "a")
	write(t, filepath.Join(dir, "tpl/index.html"), "b")
	write(t, filepath.Join(dir, ".main.hcl.swp"), "swap")
	write(t, filepath.Join(dir, "main.hcl~"), "backup")
	write(t, filepath.Join(dir, ".git/config"), "x")
	write(t, filepath.Join(dir, "tfplan"), `{"format_version": "1", "lxnetd_version": "dev", "remotes": []}`)
	vf := filepath.Join(t.TempDir(), "prod.vars.hcl")
	write(t, vf, "x = 1")
	env := []string{"HOME=/root", "LXNET_VAR_a=1", "LXNET_VAR_b=2"}
	saved, err := HashInputs(dir, []string{vf}, env)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"env LXNET_VAR_a", "env LXNET_VAR_b", "file main.hcl", "file tpl/index.html", "var-file " + vf}
	var got []string
	for k := range saved {
		got = append(got, k)
	}
	if d := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); d != "" {
		t.Fatalf("inputs (-want +got):\n%s", d)
	}
	if again, _ := HashInputs(dir, []string{vf}, env); len(CompareInputs(saved, again)) != 0 {
		t.Fatal("unchanged inputs compare different")
	}

	write(t, filepath.Join(dir, "main.hcl"), "changed")
	write(t, filepath.Join(dir, "extra.hcl"), "new")
	write(t, filepath.Join(dir, ".main.hcl.swp"), "swap changed")
	if err := os.Remove(filepath.Join(dir, "tpl/index.html")); err != nil {
		t.Fatal(err)
	}
	write(t, vf, "x = 2")
	fresh, err := HashInputs(dir, []string{vf}, []string{"LXNET_VAR_a=1", "LXNET_VAR_c=3"})
	if err != nil {
		t.Fatal(err)
	}
	wantMsgs := []string{
		`--var-file "` + vf + `" changed`,
		"environment variable LXNET_VAR_b was unset",
		"environment variable LXNET_VAR_c was set",
		`file "extra.hcl" was added`,
		`file "main.hcl" changed`,
		`file "tpl/index.html" was removed`,
	}
	if d := cmp.Diff(wantMsgs, CompareInputs(saved, fresh)); d != "" {
		t.Fatalf("changes (-want +got):\n%s", d)
	}
}
