package engine

import (
	"fmt"
	"strings"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// GateOptions are one run's explicit overrides of the delete gate. Only
// the CLI sets them (apply --max-deletes / --allow-empty); the daemon
// obeys the configuration alone.
type GateOptions struct {
	// MaxDeletes, when not nil, replaces lxnet { max_deletes } for this run.
	MaxDeletes *int
	// AllowEmpty allows emptying a remote for this run, as
	// lxnet { allow_empty = true } does.
	AllowEmpty bool
	// Destroy says the run removes everything on purpose (lxnetd destroy):
	// the allow_empty rule, which guards against a directory emptied by
	// mistake, does not apply; max_deletes still does.
	Destroy bool
}

// GateError is a plan the delete gate refused: nothing of it was written.
type GateError struct {
	Remote  string
	Deletes []string // addresses of the objects the plan would delete or replace
	Reason  string   // what was refused, naming the setting
	Hint    string   // how to let it through
}

func (e *GateError) Error() string {
	return fmt.Sprintf("remote %q: %s; would delete %s (%s)", e.Remote, e.Reason, listSome(e.Deletes, 5), e.Hint)
}

// Gate is the one safety check every writer (apply, destroy, the daemon)
// runs between plan and apply: a plan that deletes more than max_deletes
// objects (replacements count), or that deletes what lxnetd owns on a
// remote whose configuration declares nothing (a directory emptied by
// mistake) without allow_empty, is refused before any write. desired is
// the remote's configuration (nil for none). It returns nil or a
// *GateError.
func Gate(p *Plan, desired *spec.Remote, s spec.Settings, o GateOptions) error {
	deletes := p.Deletes()
	if deletes == 0 {
		return nil
	}
	var addrs []string
	for _, c := range p.Changes {
		if c.Action == Delete || c.Action == Replace {
			addrs = append(addrs, c.Addr.String())
		}
	}
	if !o.Destroy && !s.AllowEmpty && !o.AllowEmpty && desiredObjects(desired) == 0 && p.Owned > 0 {
		return &GateError{Remote: p.Remote, Deletes: addrs,
			Reason: fmt.Sprintf("refusing to delete %d owned objects: the configuration declares nothing for this remote", deletes),
			Hint:   "if that is intended, set allow_empty = true in the lxnet block, run lxnetd apply --allow-empty once, or use lxnetd destroy"}
	}
	limit, from := s.MaxDeletes, "max_deletes = %d in the lxnet block"
	if o.MaxDeletes != nil {
		limit, from = *o.MaxDeletes, "--max-deletes %d"
	}
	if limit >= 0 && deletes > limit {
		command := "apply"
		if o.Destroy {
			command = "destroy"
		}
		return &GateError{Remote: p.Remote, Deletes: addrs,
			Reason: fmt.Sprintf("refusing a plan that deletes %d objects, more than "+from, deletes, limit),
			Hint:   fmt.Sprintf("raise max_deletes in the lxnet block, or run lxnetd %s --max-deletes %d once", command, deletes)}
	}
	return nil
}

// desiredObjects counts the objects a remote's configuration declares.
func desiredObjects(r *spec.Remote) int {
	if r == nil {
		return 0
	}
	return len(r.Networks) + len(r.Profiles) + len(r.Instances) + len(r.Forwards) + len(r.Exposures) + len(r.ACLs)
}

// listSome joins up to n items and says how many more there are.
func listSome(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
