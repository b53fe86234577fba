package main

import (
	"bytes"
	"strings"
	"testing"
)

// A --replace that names no node of the configuration is refused before
// any remote is contacted (the configuration's remote does not exist).
func TestReplaceFlagNamesANode(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "main.hcl", `remote "x" {
  address = "unix:///nonexistent/lxd.socket"
}
node "web" {
  for_each = toset(["a"])
  remote   = remote.x
  image    = "busybox"
}
`)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", dir, "--replace", `node.web["b"]`, "--replace", "network.web"}, `--replace node.web["b"], network.web: names no node`},
		{[]string{"apply", dir, "--replace", "node.we"}, `--replace node.we: names no node`},
		{[]string{"export", dir, "--replace", "node.web"}, "unknown flag: --replace"},
	} {
		root := newRootCommand()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(tc.args)
		if err := root.Execute(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}
