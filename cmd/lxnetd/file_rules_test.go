package main

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lxnetd/lxnetd/config"
	"github.com/lxnetd/lxnetd/internal/daemon"
)

// fileRulesBase is a valid configuration whose only remote is a unix socket
// that does not exist: plan and apply get past loading and fail connecting,
// so a load error and a connection error are told apart without LXD.
const fileRulesBase = `remote "local" {
  address = "unix:///nonexistent/lxnetd-file-rules/unix.socket"
}

network "lxnbr0" {
  config = { "ipv4.address" = "10.231.77.1/24" }
}
`

// TestFileRulesAgree is the one table of the file rules (package
// config/files): for each directory layout, validate, plan, apply and the
// daemon (its loader, and its watcher's view of the file set) must agree on
// whether the entry counts and whether the directory is refused.
func TestFileRulesAgree(t *testing.T) {
	const other = "network \"lxnbr1\" {\n  config = { \"ipv4.address\" = \"10.231.78.1/24\" }\n}\n"
	type outcome int
	const (
		ignored outcome = iota // loads; the entry is not part of the file set
		loads                  // loads; the entry is part of the file set
		refused                // every command refuses the directory
	)
	rows := []struct {
		name   string
		layout func(t *testing.T, dir string)
		want   outcome
	}{
		{"zero-byte file", writeEntry("x.hcl", ""), refused},
		{"whitespace-only file", writeEntry("x.hcl", " \n\t\n"), refused},
		{"comments-only file", writeEntry("x.hcl", "# nothing yet\n"), loads},
		{"partial file (cut off in a block)", writeEntry("x.hcl", other[:len(other)/2]), refused},
		{"#x.hcl", writeEntry("#x.hcl", "broken {"), ignored},
		{"#x.hcl# (emacs autosave)", writeEntry("#x.hcl#", "broken {"), ignored},
		{".x.hcl", writeEntry(".x.hcl", "broken {"), ignored},
		{"x.hcl~", writeEntry("x.hcl~", "broken {"), ignored},
		{".x.hcl.swp", writeEntry(".x.hcl.swp", "broken {"), ignored},
		{"x.hcl.dpkg-old", writeEntry("x.hcl.dpkg-old", "broken {"), ignored},
		{"dangling symlink", func(t *testing.T, dir string) {
			mustDo(t, os.Symlink("missing.hcl", filepath.Join(dir, "x.hcl")))
		}, refused},
		{"symlink to a file inside", func(t *testing.T, dir string) {
			mustDo(t, os.Mkdir(filepath.Join(dir, "..data"), 0o755))
			writeEntry("..data/x.hcl", other)(t, dir)
			mustDo(t, os.Symlink("..data/x.hcl", filepath.Join(dir, "x.hcl")))
		}, loads},
		{"unreadable file", func(t *testing.T, dir string) {
			if os.Geteuid() == 0 {
				// root reads any mode; a symlink loop is unreadable for
				// everyone (ELOOP).
				mustDo(t, os.Symlink("x.hcl", filepath.Join(dir, "x.hcl")))
				return
			}
			writeEntry("x.hcl", other)(t, dir)
			mustDo(t, os.Chmod(filepath.Join(dir, "x.hcl"), 0))
		}, refused},
		{"directory named x.hcl", func(t *testing.T, dir string) {
			mustDo(t, os.Mkdir(filepath.Join(dir, "x.hcl"), 0o755))
		}, refused},
		{"symlink x.hcl to a directory", func(t *testing.T, dir string) {
			mustDo(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
			mustDo(t, os.Symlink("sub", filepath.Join(dir, "x.hcl")))
		}, refused},
		// Hostile content (issue 13): refused before the parser, with
		// bounded output (checked below).
		{"100000 nested parentheses", writeEntry("x.hcl", "locals {\n  x = "+strings.Repeat("(", 100000)+"1"+strings.Repeat(")", 100000)+"\n}\n"), refused},
		{"10 MB of random bytes", writeEntry("x.hcl", string(randomBytes(10<<20))), refused},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			dir := t.TempDir()
			writeEntry("main.hcl", fileRulesBase)(t, dir)
			before := daemon.HashDir(dir)
			row.layout(t, dir)
			want := map[outcome]string{ignored: "loads", loads: "loads", refused: "refused"}[row.want]

			// validate
			_, stderr, code := run(t, "validate", dir)
			got := map[bool]string{true: "loads", false: "refused"}[code == 0]
			if got != want {
				t.Errorf("validate: %s (exit %d), want %s:\n%s", got, code, want, stderr)
			}
			// plan and apply: either a load error (exit 1 with diagnostics)
			// or past loading, failing to connect to the missing socket.
			for _, args := range [][]string{{"plan", dir}, {"apply", "--yes", dir}} {
				stderr, err := runWithErr(t, args...)
				var ee exitError
				switch {
				case errors.As(err, &ee) && ee.code == 1 && strings.Contains(stderr, `connecting to remote "local"`):
					got = "loads" // an unreachable remote is reported per remote (remotes.go)
				case errors.As(err, &ee) && ee.code == 1 && strings.Contains(stderr, "error:"):
					got = "refused"
				case err != nil && strings.Contains(err.Error(), `connecting to remote "local"`):
					got = "loads"
				default:
					t.Fatalf("%s: unexpected outcome: err=%v\n%s", args[0], err, stderr)
				}
				if got != want {
					t.Errorf("%s: %s, want %s:\n%s", args[0], got, want, stderr)
				}
			}
			// the daemon's loader, with the production config loader
			_, err := daemon.LoadDir(dir, configLoader(mustOptions(t)))
			got = map[bool]string{true: "loads", false: "refused"}[err == nil]
			if got != want {
				t.Errorf("daemon loader: %s (%v), want %s", got, err, want)
			}
			// the daemon's watcher: an ignored entry leaves the hash of the
			// file set alone; anything else changes it (so the daemon
			// reloads and reports, or applies, it).
			changed := daemon.HashDir(dir) != before
			if changed != (row.want != ignored) {
				t.Errorf("watcher: hash changed = %v, want %v", changed, row.want != ignored)
			}
			// The refusals name the file and say what to do.
			if row.want == refused && !strings.Contains(stderr, "x.hcl") {
				t.Errorf("validate does not name x.hcl:\n%s", stderr)
			}
			if len(stderr) > 16<<10 {
				t.Errorf("validate wrote %d bytes of diagnostics", len(stderr))
			}
		})
	}
}

// runWithErr executes the CLI in-process and returns stderr and the error
// Execute returned (run fails the test on errors other than exit codes).
func runWithErr(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCommand()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(singleDashLongFlags(root, args))
	err := root.Execute()
	return errb.String(), err
}

func writeEntry(name, content string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		t.Helper()
		mustDo(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
}

// randomBytes is n bytes of a fixed pseudo-random sequence.
func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(13, 13))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustOptions(t *testing.T) config.Options {
	t.Helper()
	o, err := configOptions(nil, nil)
	mustDo(t, err)
	return o
}
