package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// TestContactedRemotes: only remote.NAME targets narrow the remotes read;
// any other target reads them all; an unknown remote is an error.
func TestContactedRemotes(t *testing.T) {
	cfg := &spec.Config{Remotes: map[string]*spec.Remote{"a": {Name: "a"}, "b": {Name: "b"}, "c": {Name: "c"}}}
	for _, tc := range []struct {
		targets []string
		want    []string
	}{
		{nil, []string{"a", "b", "c"}},
		{[]string{"remote.b"}, []string{"b"}},
		{[]string{"remote.c", "remote.a", "remote.c"}, []string{"a", "c"}},
		{[]string{"remote.b", "node.web"}, []string{"a", "b", "c"}},
	} {
		got, err := contactedRemotes(cfg, tc.targets)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("targets %v: %v, %v; want %v", tc.targets, got, err, tc.want)
		}
	}
	if _, err := contactedRemotes(cfg, []string{"remote.z"}); err == nil || !strings.Contains(err.Error(), `no remote "z"`) {
		t.Errorf("unknown remote: %v", err)
	}
}

// TestPartialPlanDoesNotClaimMatch: with a remote that was not read, an
// empty plan of the others does not say LXD matches the configuration.
func TestPartialPlanDoesNotClaimMatch(t *testing.T) {
	plans := []*engine.Plan{{Remote: "a"}}
	var full, partial bytes.Buffer
	if err := renderHuman(&full, plans, false, false); err != nil {
		t.Fatal(err)
	}
	if err := renderHuman(&partial, plans, false, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(full.String(), "LXD matches the configuration") {
		t.Fatalf("full plan output changed; this test's premise is gone:\n%s", full.String())
	}
	if strings.Contains(partial.String(), "matches") || !strings.Contains(partial.String(), "No changes on the remotes that answered.") {
		t.Fatalf("partial plan output:\n%s", partial.String())
	}
}
