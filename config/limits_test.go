package config

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// hostileInputs are the generated cases of the bad-input catalogue: files
// too large to commit. Each must give one clear error (file:line:col, a
// hint) quickly, with bounded output and memory.
func hostileInputs() []struct {
	name    string
	files   map[string][]byte
	summary string
} {
	random := func(n int, seed uint64) []byte {
		r := rand.New(rand.NewPCG(seed, seed))
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	printable := func(n int) []byte {
		r := rand.New(rand.NewPCG(7, 7))
		const alphabet = "abc= \n,.:;&|@^`'+*/%~1234567890xyz"
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return b
	}
	nested := func(open, close string, n int) []byte {
		return []byte("locals {\n  x = " + strings.Repeat(open, n) + "1" + strings.Repeat(close, n) + "\n}\n")
	}
	comment := bytes.Repeat([]byte("# a comment line that declares nothing at all, padding\n"), (MaxFileBytes-1024)/55)
	return []struct {
		name    string
		files   map[string][]byte
		summary string
	}{
		{"100000 nested parentheses", map[string][]byte{"main.hcl": nested("(", ")", 100000)}, "Expression nested too deeply"},
		{"100000 nested brackets", map[string][]byte{"main.hcl": nested("[", "]", 100000)}, "Expression nested too deeply"},
		{"100000 nested templates", map[string][]byte{"main.hcl": nested(`"${`, `}"`, 100000)}, "Expression nested too deeply"},
		{"400000 unary operators", map[string][]byte{"main.hcl": []byte("locals {\n  x = " + strings.Repeat("!", 400000) + "true\n}\n")}, "Expression nested too deeply"},
		{"500000 chained additions", map[string][]byte{"main.hcl": []byte("locals {\n  x = 1" + strings.Repeat("+1", 500000) + "\n}\n")}, "Expression nested too deeply"},
		{"300000 splats", map[string][]byte{"main.hcl": []byte("locals {\n  x = [1]" + strings.Repeat("[*]", 300000) + "\n}\n")}, "Expression nested too deeply"},
		{"50000 chained conditionals", map[string][]byte{"main.hcl": []byte("locals {\n  x = " + strings.Repeat("true ? 1 : ", 50000) + "2\n}\n")}, "Expression nested too deeply"},
		{"10 MB of random bytes", map[string][]byte{"main.hcl": random(10<<20, 1)}, "Configuration file too large"},
		{"1 MiB of random bytes", map[string][]byte{"main.hcl": random(MaxFileBytes, 2)}, "Configuration file is not UTF-8 text"},
		// The parser's own cost: about 3 s per MiB here (the test keeps
		// to a quarter of the limit); the diagnostics kept are bounded.
		{"256 KiB of printable garbage", map[string][]byte{"main.hcl": printable(256 << 10)}, ""},
		{"five files of almost 1 MiB", map[string][]byte{"a.hcl": comment, "b.hcl": comment, "c.hcl": comment, "d.hcl": comment, "e.hcl": comment}, "Configuration too large"},
	}
}

// TestHostileInputBounded loads each hostile input and bounds what it
// costs: time (generous for a loaded machine: each takes well under a
// second here), the size of the text and JSON output, and the memory
// allocated.
func TestHostileInputBounded(t *testing.T) {
	position := regexp.MustCompile(`(?m)^\S+\.hcl:\d+:\d+: error: `)
	for _, tc := range hostileInputs() {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			cfg, diags := Load(dir, Options{})
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			if cfg != nil || !diags.HasErrors() {
				t.Fatalf("loaded without errors")
			}
			var text, js bytes.Buffer
			if err := diags.WriteText(&text, false); err != nil {
				t.Fatal(err)
			}
			if err := diags.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			first := diags.List()[0]
			t.Logf("%v, %d MB allocated, %d diagnostics, %d bytes of text, %d of JSON; first: %s", took.Round(time.Millisecond),
				(after.TotalAlloc-before.TotalAlloc)>>20, diags.Len(), text.Len(), js.Len(), first.Summary)
			if tc.summary != "" && (first.Summary != tc.summary || diags.Len() != 1) {
				t.Errorf("got %d diagnostics, the first %q; want just %q:\n%s", diags.Len(), first.Summary, tc.summary, text.String())
			}
			if !position.Match(text.Bytes()) || first.Detail == "" {
				t.Errorf("the error has no file:line:col or no hint:\n%.2000s", text.String())
			}
			if took > 15*time.Second {
				t.Errorf("took %v", took)
			}
			if text.Len() > 64<<10 || js.Len() > 128<<10 {
				t.Errorf("output: %d bytes of text, %d of JSON", text.Len(), js.Len())
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<30 {
				t.Errorf("allocated %d MB", alloc>>20)
			}
			// lxnetd fmt applies the same limits before its parser.
			for name, data := range tc.files {
				if _, fd := Format(name, data); tc.summary != "" && (!fd.HasErrors() || fd.List()[0].Summary != tc.summary) && tc.summary != "Configuration too large" {
					t.Errorf("Format(%s): %v, want %q", name, fd.Err(), tc.summary)
				}
			}
		})
	}
}

// TestFileFunctionSymlinks: file() follows a symlink that stays inside the
// configuration directory and refuses one that leads out, without showing
// the content of the file outside.
func TestFileFunctionSymlinks(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	const secret = "outside-secret-content"
	mustWrite := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(filepath.Join(dir, "data", "inside.txt"), "inside-content")
	mustWrite(filepath.Join(outside, "secret.txt"), secret)
	for link, target := range map[string]string{
		"in.txt":  "data/inside.txt",
		"out.txt": filepath.Join(outside, "secret.txt"),
		"outdir":  outside,
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	load := func(expr string) (string, Diagnostics) {
		t.Helper()
		mustWrite(filepath.Join(dir, "main.hcl"), "locals {\n  x = "+expr+"\n}\nnode \"n\" {\n  image       = \"busybox\"\n  description = local.x\n}\n")
		cfg, diags := Load(dir, Options{})
		if cfg == nil {
			return "", diags
		}
		return cfg.Remotes["local"].Instances[0].Description, diags
	}
	if got, diags := load(`file("in.txt")`); got != "inside-content" {
		t.Errorf("a symlink inside the directory: got %q, %v", got, diags.Err())
	}
	for _, expr := range []string{`file("out.txt")`, `file("outdir/secret.txt")`, `templatefile("outdir/secret.txt", {})`} {
		_, diags := load(expr)
		var text, js bytes.Buffer
		_ = diags.WriteText(&text, false)
		_ = diags.WriteJSON(&js)
		if !diags.HasErrors() || !strings.Contains(text.String(), "outside the configuration directory") {
			t.Errorf("%s: not refused as outside:\n%s", expr, text.String())
		}
		if strings.Contains(text.String()+js.String(), secret) {
			t.Errorf("%s: the diagnostics show the content of the file outside", expr)
		}
	}
}
