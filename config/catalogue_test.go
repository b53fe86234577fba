package config

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden diagnostics of testdata/bad")

// badCases lists the directories of the bad-input catalogue.
func badCases(t testing.TB) []string {
	t.Helper()
	dirs, err := filepath.Glob("../testdata/bad/*")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range dirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			out = append(out, d)
		}
	}
	return out
}

// caseOptions reads a case's optional options.json (variables given from
// outside the directory).
func caseOptions(t testing.TB, dir string) Options {
	t.Helper()
	var raw struct {
		Vars     map[string]string `json:"vars"`
		VarFiles []string          `json:"var_files"`
		Environ  []string          `json:"environ"`
		// Chmod sets file modes git cannot record (a key readable by others).
		Chmod map[string]string `json:"chmod"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "options.json"))
	if os.IsNotExist(err) {
		return Options{}
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("%s/options.json: %v", dir, err)
	}
	for name, mode := range raw.Chmod {
		m, err := strconv.ParseUint(mode, 8, 32)
		if err != nil {
			t.Fatalf("%s/options.json: chmod %s: %v", dir, name, err)
		}
		if err := os.Chmod(filepath.Join(dir, name), os.FileMode(m)); err != nil {
			t.Fatal(err)
		}
	}
	return Options{Vars: raw.Vars, VarFiles: raw.VarFiles, Environ: raw.Environ}
}

// TestBadCatalogue loads every broken configuration of testdata/bad and
// compares the diagnostics, as `lxnetd validate` prints them, with the
// case's golden file. Run with -update to rewrite the golden files (then
// read the diff: the wording is part of the product).
func TestBadCatalogue(t *testing.T) {
	cases := badCases(t)
	if len(cases) < 40 {
		t.Errorf("the bad-input catalogue has %d cases; it must keep at least 40", len(cases))
	}
	for _, dir := range cases {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			opts := caseOptions(t, dir)
			t.Chdir(dir) // file names in diagnostics are relative to the case
			cfg, diags := Load(".", opts)
			if !diags.HasErrors() {
				t.Fatalf("configuration loaded without errors; a bad case must fail")
			}
			if cfg != nil {
				t.Errorf("Load returned a configuration along with errors")
			}
			if diags.Err() == nil || !strings.Contains(diags.Err().Error(), diags.List()[0].Summary) {
				t.Errorf("Err() = %v does not name the first error", diags.Err())
			}
			var got bytes.Buffer
			if err := diags.WriteText(&got, false); err != nil {
				t.Fatal(err)
			}
			golden := "diagnostics.golden"
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./config -run TestBadCatalogue -update)", err)
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("diagnostics differ from %s/%s (-want +got):\n%s", dir, golden, diff)
			}
			// JSON output stays valid and agrees on the count.
			var js bytes.Buffer
			if err := diags.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			var parsed struct {
				Valid       bool         `json:"valid"`
				Diagnostics []Diagnostic `json:"diagnostics"`
				Omitted     int          `json:"omitted"`
			}
			if err := json.Unmarshal(js.Bytes(), &parsed); err != nil {
				t.Fatalf("WriteJSON output is not JSON: %v", err)
			}
			if parsed.Valid || len(parsed.Diagnostics) != min(diags.Len(), MaxShown) {
				t.Errorf("JSON says valid=%v with %d diagnostics, want invalid with %d", parsed.Valid, len(parsed.Diagnostics), min(diags.Len(), MaxShown))
			}
			if len(parsed.Diagnostics)+parsed.Omitted != diags.Len() {
				t.Errorf("JSON lists %d diagnostics and omits %d; there are %d", len(parsed.Diagnostics), parsed.Omitted, diags.Len())
			}
		})
	}
}
