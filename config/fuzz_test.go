package config

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// FuzzLoad feeds arbitrary text to the whole pipeline (parse, evaluate,
// validate, render diagnostics, format). Its seed corpus, every file of the
// good and bad catalogues, runs with plain `go test`; none may panic.
func FuzzLoad(f *testing.F) {
	for _, pattern := range []string{"../testdata/good/*/*.hcl", "../testdata/bad/*/*.hcl"} {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range paths {
			if st, err := os.Stat(p); err == nil && st.IsDir() {
				continue // a case of a directory named like a file
			}
			src, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(string(src))
		}
	}
	f.Add("")
	f.Add("network \"x\" {\n  config = { a = [\n")
	f.Fuzz(func(t *testing.T, src string) {
		fsys := fstest.MapFS{
			"main.hcl":      &fstest.MapFile{Data: []byte(src)},
			"data/doc.yaml": &fstest.MapFile{Data: []byte("a: 1\n")},
		}
		cfg, diags := LoadFS(fsys, Options{Vars: map[string]string{}})
		if diags.HasErrors() {
			if cfg != nil {
				t.Fatal("a configuration was returned along with errors")
			}
			if diags.Err() == nil {
				t.Fatal("Err() is nil although there are errors")
			}
		} else if cfg == nil {
			t.Fatal("no configuration and no errors")
		}
		var buf bytes.Buffer
		if err := diags.WriteText(&buf, true); err != nil {
			t.Fatal(err)
		}
		if err := diags.WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
		out, fd := Format("main.hcl", []byte(src))
		if !fd.HasErrors() {
			// Formatting is idempotent.
			again, _ := Format("main.hcl", out)
			if !bytes.Equal(out, again) {
				t.Fatalf("Format is not idempotent:\n%s\n---\n%s", out, again)
			}
		}
	})
}
