package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExportFlagErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "--address", "https://10.0.0.1:8443", "--client-cert", "c", "--client-key", "k"}, "needs --server-fingerprint"},
		{[]string{"export", ".", "--address", "unix://"}, "either a configuration directory or --address"},
		{[]string{"export", "--var", "a=b"}, "--var and --var-file apply to a configuration directory"},
		{[]string{"export", "--remote", "a", "--remote", "b"}, "names the one remote"},
	} {
		root := newRootCommand()
		root.SetArgs(tt.args)
		root.SetOut(new(strings.Builder))
		root.SetErr(new(strings.Builder))
		if err := root.Execute(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want %q", tt.args, err, tt.want)
		}
	}
}

func TestExportUnknownRemote(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(`remote "a" { address = "unix://" }`), 0o644); err != nil {
		t.Fatal(err)
	}
	root := newRootCommand()
	root.SetArgs([]string{"export", dir, "--remote", "b"})
	root.SetOut(new(strings.Builder))
	root.SetErr(new(strings.Builder))
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), `--remote "b": the configuration in`) {
		t.Errorf("unknown remote: %v", err)
	}
}
