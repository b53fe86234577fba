package main

import (
	"strings"
	"testing"
)

// A negative --max-deletes would switch the delete gate off: every writer
// refuses it before reading anything.
func TestNegativeMaxDeletesIsRefused(t *testing.T) {
	for _, command := range []string{"apply", "destroy"} {
		root := newRootCommand()
		root.SetArgs([]string{command, "--yes", "--max-deletes", "-1", t.TempDir()})
		root.SetOut(new(strings.Builder))
		root.SetErr(new(strings.Builder))
		if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "--max-deletes -1: give 0 or more") {
			t.Errorf("%s --max-deletes -1: %v, want a refusal", command, err)
		}
	}
}
