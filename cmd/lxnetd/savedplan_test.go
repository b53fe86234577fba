package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/enginetest"
	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/lxnetd/lxnetd/internal/planfile"
)

// runErr executes the CLI in-process and returns stderr and the error.
func runErr(args ...string) (string, error) {
	root := newRootCommand()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.Execute()
	return errb.String(), err
}

// savedPlanOf writes a saved plan of dir as plan --out would, without
// remotes (checks that come before connecting need none).
func savedPlanOf(t *testing.T, dir, version string) string {
	t.Helper()
	inputs, err := planfile.HashInputs(dir, nil, os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "saved.plan")
	f := &planfile.File{FormatVersion: planfile.FormatVersion, LxnetdVersion: version,
		Config: planfile.Config{Dir: dir, Hash: "unused here", Inputs: inputs}}
	if err := planfile.Write(path, f); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestApplySavedPlanRefusals(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "main.hcl"), "lxnet {\n  owner = \"x\"\n}\n")
	path := savedPlanOf(t, dir, lxnetdVersion())

	for _, flag := range []string{"--var=a=b", "--var-file=x.vars.hcl", "--target=node.web"} {
		_, err := runErr("apply", flag, path)
		if err == nil || !strings.Contains(err.Error(), "cannot be given with a saved plan") {
			t.Errorf("apply %s FILE: %v, want a refusal", flag, err)
		}
	}
	if _, err := runErr("apply", filepath.Join(dir, "main.hcl")); err == nil || !strings.Contains(err.Error(), "is not a saved plan") {
		t.Errorf("apply of a .hcl file: %v, want 'is not a saved plan'", err)
	}
	old := savedPlanOf(t, dir, "0.0.1")
	if _, err := runErr("apply", "--yes", old); err == nil || !strings.Contains(err.Error(), "was made by lxnetd 0.0.1") {
		t.Errorf("apply of a plan of another version: %v", err)
	}

	// Configuration edits are found before any remote is contacted.
	writeFile(t, filepath.Join(dir, "main.hcl"), "lxnet {\n  owner = \"y\"\n}\n")
	writeFile(t, filepath.Join(dir, "web.hcl"), "")
	writeFile(t, filepath.Join(dir, ".web.hcl.swp"), "editor")
	errs, err := runErr("apply", "--yes", path)
	for _, want := range []string{"is stale: the configuration changed", `file "main.hcl" changed since the plan was made`,
		`file "web.hcl" was added since the plan was made`, "Nothing was written", "lxnetd plan " + dir + " --out " + path} {
		if !strings.Contains(errs, want) {
			t.Errorf("stale configuration: %v, stderr lacks %q:\n%s", err, want, errs)
		}
	}
	if strings.Contains(errs, "swp") {
		t.Errorf("an editor's swap file makes the plan stale:\n%s", errs)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPlanDifferences: a fresh plan that does something else than the saved
// one is named change by change.
func TestPlanDifferences(t *testing.T) {
	f := enginetest.New("local")
	desired := func(mem string, profiles ...string) *spec.Remote {
		r := &spec.Remote{Name: "local"}
		for _, p := range profiles {
			r.Profiles = append(r.Profiles, spec.Profile{Meta: spec.Meta{Addr: "profile." + p}, Name: p,
				Config: map[string]string{"limits.memory": mem}})
		}
		return r
	}
	mk := func(d *spec.Remote) *engine.Plan {
		o, err := engine.Observe(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := o.Plan(d, spec.Settings{Owner: "t"}, engine.PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	saved := mk(desired("64MiB", "a", "b"))
	if d := planDifferences(saved, mk(desired("64MiB", "a", "b"))); len(d) != 0 {
		t.Fatalf("the same plan differs: %v", d)
	}
	got := planDifferences(saved, mk(desired("128MiB", "a", "c")))
	want := []string{
		`the change to profile.a on remote "local" would now be different`,
		`the change to profile.b on remote "local" is no longer planned`,
		`a change to profile.c on remote "local" would now be planned`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}
