package engine_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
)

func TestGate(t *testing.T) {
	deleting := func(n, owned int) *engine.Plan {
		p := &engine.Plan{Remote: "local", Owned: owned}
		for i := range n {
			p.Changes = append(p.Changes, &engine.Change{Addr: engine.Address{Kind: engine.KindProfile, Name: fmt.Sprint("p", i)}, Action: engine.Delete})
		}
		return p
	}
	one := &spec.Remote{Name: "local", Profiles: []spec.Profile{{Name: "kept"}}}
	s := spec.Settings{MaxDeletes: 2}
	three := 3
	cases := []struct {
		name    string
		plan    *engine.Plan
		desired *spec.Remote
		s       spec.Settings
		o       engine.GateOptions
		refused string
	}{
		{"within max_deletes", deleting(2, 5), one, s, engine.GateOptions{}, ""},
		{"over max_deletes", deleting(3, 5), one, s, engine.GateOptions{}, "more than max_deletes = 2 in the lxnet block"},
		{"--max-deletes raises it", deleting(3, 5), one, s, engine.GateOptions{MaxDeletes: &three}, ""},
		{"--max-deletes is named", deleting(4, 5), one, s, engine.GateOptions{MaxDeletes: &three}, "more than --max-deletes 3"},
		{"emptied remote", deleting(1, 1), nil, s, engine.GateOptions{}, "declares nothing for this remote"},
		{"allow_empty", deleting(1, 1), nil, spec.Settings{MaxDeletes: 2, AllowEmpty: true}, engine.GateOptions{}, ""},
		{"--allow-empty", deleting(1, 1), &spec.Remote{}, s, engine.GateOptions{AllowEmpty: true}, ""},
		{"destroy skips allow_empty", deleting(2, 2), nil, s, engine.GateOptions{Destroy: true}, ""},
		{"destroy obeys max_deletes", deleting(3, 3), nil, s, engine.GateOptions{Destroy: true}, "more than max_deletes = 2"},
		{"destroy's hint names destroy", deleting(3, 3), nil, s, engine.GateOptions{Destroy: true}, "lxnetd destroy --max-deletes 3 once"},
		{"nothing to delete", deleting(0, 0), nil, s, engine.GateOptions{}, ""},
		{"max_deletes 0", deleting(1, 3), one, spec.Settings{MaxDeletes: 0}, engine.GateOptions{}, "more than max_deletes = 0"},
		{"max_deletes -1 is unlimited", deleting(9, 9), one, spec.Settings{MaxDeletes: -1}, engine.GateOptions{}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := engine.Gate(c.plan, c.desired, c.s, c.o)
			if c.refused == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ge *engine.GateError
			if !errors.As(err, &ge) || !strings.Contains(err.Error(), c.refused) {
				t.Fatalf("got %v, want a GateError with %q", err, c.refused)
			}
			if len(ge.Deletes) != len(c.plan.Changes) || ge.Hint == "" {
				t.Errorf("gate error lists %v, hint %q", ge.Deletes, ge.Hint)
			}
		})
	}
}
