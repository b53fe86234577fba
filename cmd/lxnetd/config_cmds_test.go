package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/lxnetd/lxnetd/config"

	"github.com/google/go-cmp/cmp"
)

// run executes the CLI in-process and returns stdout, stderr and the exit code.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	root := newRootCommand()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(singleDashLongFlags(root, args))
	err := root.Execute()
	code := 0
	var ee exitError
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case err != nil:
		t.Fatalf("lxnetd %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

func repoPath(t *testing.T, rel string) string {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join("../..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestValidateBadCatalogue: `lxnetd validate` exits 1 on every case of
// testdata/bad and prints exactly its golden diagnostics.
func TestValidateBadCatalogue(t *testing.T) {
	dirs, _ := filepath.Glob(repoPath(t, "testdata/bad/*"))
	if len(dirs) < 40 {
		t.Fatalf("found %d bad cases, want at least 40", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			args := []string{"validate", "."}
			if b, err := os.ReadFile(filepath.Join(dir, "options.json")); err == nil {
				var o struct {
					Vars     map[string]string `json:"vars"`
					VarFiles []string          `json:"var_files"`
					Environ  []string          `json:"environ"`
					Chmod    map[string]string `json:"chmod"`
				}
				if err := json.Unmarshal(b, &o); err != nil {
					t.Fatal(err)
				}
				for name, mode := range o.Chmod {
					m, err := strconv.ParseUint(mode, 8, 32)
					if err != nil {
						t.Fatal(err)
					}
					if err := os.Chmod(filepath.Join(dir, name), os.FileMode(m)); err != nil {
						t.Fatal(err)
					}
				}
				names := make([]string, 0, len(o.Vars))
				for k := range o.Vars {
					names = append(names, k)
				}
				sort.Strings(names)
				for _, k := range names {
					args = append(args, "--var", k+"="+o.Vars[k])
				}
				for _, f := range o.VarFiles {
					args = append(args, "--var-file", f)
				}
				for _, kv := range o.Environ {
					k, v, _ := strings.Cut(kv, "=")
					t.Setenv(k, v)
				}
			}
			want, err := os.ReadFile(filepath.Join(dir, "diagnostics.golden"))
			if err != nil {
				t.Fatal(err)
			}
			t.Chdir(dir)
			stdout, stderr, code := run(t, args...)
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if stdout != "" {
				t.Errorf("unexpected stdout: %q", stdout)
			}
			if diff := cmp.Diff(string(want), stderr); diff != "" {
				t.Errorf("diagnostics (-golden +got):\n%s", diff)
			}
		})
	}
}

// TestValidateExamples: every examples/*/ directory is a valid configuration.
func TestValidateExamples(t *testing.T) {
	dirs, _ := filepath.Glob(repoPath(t, "examples/*"))
	for _, dir := range dirs {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			_, stderr, code := run(t, "validate", dir)
			if code != 0 {
				t.Errorf("lxnetd validate %s exited %d:\n%s", dir, code, stderr)
			}
		})
	}
}

// TestValidateGood: the seed scenarios validate silently.
func TestValidateGood(t *testing.T) {
	dirs, _ := filepath.Glob(repoPath(t, "testdata/good/*"))
	if len(dirs) == 0 {
		t.Fatal("no testdata/good scenarios")
	}
	for _, dir := range dirs {
		stdout, stderr, code := run(t, "validate", dir)
		if code != 0 || stdout != "" || stderr != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 0 and no output", dir, code, stdout, stderr)
		}
	}
}

func TestValidateJSONAndVars(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "main.hcl", "variable \"name\" {}\n\nnetwork \"br\" {\n  name = var.name\n}\n")
	stdout, _, code := run(t, "validate", "--json", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (missing variable)", code)
	}
	var res struct {
		Valid       bool `json:"valid"`
		ErrorCount  int  `json:"error_count"`
		Diagnostics []struct {
			Summary string `json:"summary"`
			Range   struct {
				Filename string `json:"filename"`
			} `json:"range"`
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if res.Valid || res.ErrorCount != 1 || res.Diagnostics[0].Summary != "No value for required variable" || res.Diagnostics[0].Range.Filename != filepath.Join(dir, "main.hcl") {
		t.Errorf("unexpected result: %+v", res)
	}
	if _, stderr, _ := run(t, "validate", dir); !strings.HasPrefix(stderr, filepath.Join(dir, "main.hcl")+":1:1: error: No value for required variable\n") {
		t.Errorf("text output does not start with the file location joined to the directory:\n%s", stderr)
	}
	if _, stderr, code := run(t, "validate", "--var", "name=lxnbr9", dir); code != 0 {
		t.Errorf("with --var: exit %d\n%s", code, stderr)
	}
	varFile := filepath.Join(t.TempDir(), "v.hcl")
	write(t, filepath.Dir(varFile), "v.hcl", "name = \"x\"\n")
	_, stderr, code := run(t, "validate", "--var-file", varFile, dir)
	if code != 1 || !strings.Contains(stderr, `The network name "x" is too short`) {
		t.Errorf("with --var-file: exit %d\n%s", code, stderr)
	}
	t.Setenv("LXNET_VAR_name", "lxnbr8")
	if stdout, stderr, code := run(t, "validate", "--json", dir); code != 0 || !strings.Contains(stdout, `"valid": true`) {
		t.Errorf("with LXNET_VAR_name: exit %d\n%s%s", code, stdout, stderr)
	}
	root := newRootCommand()
	root.SetArgs([]string{"validate", dir, "--var", "novalue"})
	root.SetOut(&bytes.Buffer{})
	root.SetErr(&bytes.Buffer{})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "write --var name=value") {
		t.Errorf("a malformed --var must be a usage error; got %v", err)
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
}

func TestFmt(t *testing.T) {
	dir := t.TempDir()
	ugly := "network \"lxnbr0\" {\ntype=\"bridge\"\n  description = \"x\"\n}\n"
	pretty := "network \"lxnbr0\" {\n  type        = \"bridge\"\n  description = \"x\"\n}\n"
	write(t, dir, "a.hcl", ugly)
	write(t, dir, "b.hcl", pretty)
	write(t, dir, ".skip.hcl", ugly)
	path := filepath.Join(dir, "a.hcl")

	stdout, _, code := run(t, "fmt", "--check", dir)
	if code != 1 || stdout != path+"\n" {
		t.Errorf("fmt --check: exit %d, stdout %q; want 1 and the one file", code, stdout)
	}
	stdout, _, code = run(t, "fmt", "--check", "--diff", dir)
	if code != 1 || !strings.Contains(stdout, "-type=\"bridge\"\n+  type        = \"bridge\"\n") || !strings.HasPrefix(stdout, "--- "+path) {
		t.Errorf("fmt --check --diff: exit %d, stdout:\n%s", code, stdout)
	}
	if b, _ := os.ReadFile(path); string(b) != ugly {
		t.Error("--check must not change files")
	}
	stdout, _, code = run(t, "fmt", dir)
	if code != 0 || stdout != path+"\n" {
		t.Errorf("fmt: exit %d, stdout %q", code, stdout)
	}
	if b, _ := os.ReadFile(path); string(b) != pretty {
		t.Errorf("fmt wrote:\n%s", b)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("fmt changed the mode to %v", st.Mode().Perm())
	}
	if b, _ := os.ReadFile(filepath.Join(dir, ".skip.hcl")); string(b) != ugly {
		t.Error("fmt touched a dotfile")
	}
	if _, _, code := run(t, "fmt", "--check", dir); code != 0 {
		t.Errorf("after fmt, --check exits %d", code)
	}
	write(t, dir, "c.hcl", "network \"x\" {\n")
	_, stderr, code := run(t, "fmt", dir)
	if code != 1 || !strings.Contains(stderr, "Unclosed configuration block") {
		t.Errorf("syntax error: exit %d, stderr %q", code, stderr)
	}
	if stdout, _, code := run(t, "fmt", "--check", filepath.Join(dir, "b.hcl")); code != 0 || stdout != "" {
		t.Errorf("fmt of one canonical file: exit %d, %q", code, stdout)
	}
}

// TestFmtSingleDashCheck: `fmt -check` (DESIGN §2, Terraform's spelling)
// works like --check, and on a file with a syntax error prints its
// diagnostic and exits 1 without touching it.
func TestFmtSingleDashCheck(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.hcl", "network \"lxnbr0\" {\ntype=\"bridge\"\n}\n")
	stdout, _, code := run(t, "fmt", "-check", dir)
	if code != 1 || stdout != filepath.Join(dir, "a.hcl")+"\n" {
		t.Errorf("fmt -check: exit %d, stdout %q; want 1 and the file", code, stdout)
	}
	broken := "network \"x\" {\n  type=\"bridge\"\n"
	write(t, dir, "a.hcl", broken)
	_, stderr, code := run(t, "fmt", "-check", dir)
	if code != 1 || !strings.Contains(stderr, "a.hcl:1:") || !strings.Contains(stderr, "Unclosed configuration block") {
		t.Errorf("fmt -check on a broken file: exit %d, stderr %q", code, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.hcl")); string(b) != broken {
		t.Errorf("fmt -check changed a broken file to %q", b)
	}
	if _, _, code := run(t, "validate", "-json", dir); code != 1 {
		t.Errorf("validate -json: exit %d, want 1", code)
	}
}

// TestFmtIdempotent: fmt of every testdata/good and examples file is
// canonical after one pass (a second pass changes nothing).
func TestFmtIdempotent(t *testing.T) {
	var files []string
	for _, pat := range []string{"testdata/good/*/*.hcl", "examples/*/*.hcl"} {
		m, _ := filepath.Glob(repoPath(t, pat))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no files")
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		write(t, dir, "x.hcl", string(src))
		if _, stderr, code := run(t, "fmt", dir); code != 0 {
			t.Fatalf("fmt %s: exit %d\n%s", f, code, stderr)
		}
		if stdout, _, code := run(t, "fmt", "-check", dir); code != 0 {
			t.Errorf("%s: a second fmt would change %s", f, stdout)
		}
	}
}

// TestSingleDashLongFlags: only long flags of the command are rewritten,
// never a flag's value or anything after "--".
func TestSingleDashLongFlags(t *testing.T) {
	root := newRootCommand()
	got := singleDashLongFlags(root, []string{"validate", "-json", "--var", "-json", "-var=x=1", "-h", "-xyz", "-", "--", "-json"})
	want := []string{"validate", "--json", "--var", "-json", "--var=x=1", "-h", "-xyz", "-", "--", "-json"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestValidateIOErrors: a missing directory, a file given as the
// directory, and an empty directory each get a clean message, not a panic or
// a Go error string.
func TestValidateIOErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "main.hcl", `network "lxnbr0" {}`)
	for _, tc := range []struct {
		path, want string
		code       int
	}{
		{filepath.Join(dir, "nope"), "Cannot read configuration directory", 1},
		{filepath.Join(dir, "main.hcl"), "Configuration path is not a directory", 1},
		{t.TempDir(), "No configuration files", 0},
	} {
		_, stderr, code := run(t, "validate", tc.path)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("validate %s: exit %d, stderr %q; want %d and %q", tc.path, code, stderr, tc.code, tc.want)
		}
	}
}

// fmt replaces a file by rename (a watching daemon never sees half a file),
// writes through a symlink instead of replacing the link (the ..data layout
// of configuration mounts), and leaves no temporary file behind.
func TestFmtReplacesThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "..data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, data, "net.hcl", "network \"x\" {\ntype=\"bridge\"\n}\n")
	link := filepath.Join(dir, "net.hcl")
	if err := os.Symlink(filepath.Join("..data", "net.hcl"), link); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(link)
	if err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := run(t, "fmt", dir); code != 0 {
		t.Fatalf("fmt: exit %d: %s", code, stderr)
	}
	after, err := os.Stat(link)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(before, after) {
		t.Error("fmt rewrote the file in place; want a new file renamed over it")
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("fmt replaced the symlink (%v)", err)
	}
	if b, _ := os.ReadFile(filepath.Join(data, "net.hcl")); string(b) != "network \"x\" {\n  type = \"bridge\"\n}\n" {
		t.Errorf("target after fmt:\n%s", b)
	}
	for _, d := range []string{dir, data} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".lxnetd-fmt-") {
				t.Errorf("temporary file left behind: %s", filepath.Join(d, e.Name()))
			}
		}
	}
}

// A file far over the size limit (a log or image written to a *.hcl name) is
// refused with the loader's diagnostic and left as it is; fmt goes on with
// the other files.
func TestFmtRefusesHugeFile(t *testing.T) {
	dir := t.TempDir()
	huge := strings.Repeat("# not configuration\n", (config.MaxFileBytes/20)*3)
	write(t, dir, "huge.hcl", huge)
	write(t, dir, "ugly.hcl", "network \"lxnbr0\" {\ntype=\"bridge\"\n}\n")
	_, stderr, code := run(t, "fmt", dir)
	if code == 0 || !strings.Contains(stderr, "Configuration file too large") {
		t.Errorf("fmt: exit %d, stderr:\n%s", code, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "huge.hcl")); string(b) != huge {
		t.Error("fmt changed the file it refused")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "ugly.hcl")); !strings.Contains(string(b), "  type = \"bridge\"") {
		t.Errorf("fmt did not format the other file:\n%s", b)
	}
}
