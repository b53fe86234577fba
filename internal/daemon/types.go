package daemon

import (
	"context"
	"errors"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// Loader reads and evaluates the configuration directory. On failure it
// returns a *ConfigError (or any error) and no configuration; the daemon then
// keeps the last good configuration in force.
type Loader func(dir string) (*spec.Config, error)

// ConfigError is a rejected configuration: Summary is one line naming the
// first problem's file and line ("web.hcl:3,5-9: Unsupported argument; ...")
// for STATUS, Detail the full diagnostics with snippets for the log and for
// `lxnetd reload`.
type ConfigError struct {
	Summary string
	Detail  string
}

func (e *ConfigError) Error() string { return e.Summary }

// detail returns the full diagnostics of a load error.
func detail(err error) string {
	var ce *ConfigError
	if errors.As(err, &ce) && ce.Detail != "" {
		return ce.Detail
	}
	return err.Error()
}

// Connector opens a session with one remote. Connecting includes the TLS
// pin check; a refused or unreachable remote is an error.
type Connector func(ctx context.Context, r *spec.Remote) (Session, error)

// Session is a live connection to one remote.
type Session interface {
	// Converge observes the remote, plans against desired and, when the
	// safety gate allows it, applies the plan. It is called only from the
	// remote's worker, one pass at a time.
	Converge(ctx context.Context, desired *spec.Remote, s spec.Settings) (Outcome, error)
	// Watch blocks receiving LXD lifecycle events, calling onEvent (which
	// only marks the remote dirty) for each; it returns nil when ctx is done
	// and an error when the stream breaks.
	Watch(ctx context.Context, onEvent func(engine.Event)) error
	// Close releases the connection.
	Close()
	// Leases is the remote's server configuration, where the one-writer
	// lease of each owner lives (package engine/lease).
	Leases() LeaseStore
}

// Outcome is what one convergence pass did.
type Outcome struct {
	PlanID  string
	Objects int // owned objects on the remote after the pass
	Applied int // changes written (0 for a no-op pass)
	Failed  int // changes that failed (the pass then returns an error too)
	// Refused is non-empty when the safety gate refused the plan (too many
	// deletes, an empty desired set): nothing was written.
	Refused string
	// Observations is the number of full reads of the remote (bulk lists)
	// the pass made, ObjectReads the objects it read one by one (after
	// events and writes).
	Observations int
	ObjectReads  int
	// Requests is the number of LXD API requests the pass issued (lease
	// renewals running meanwhile included).
	Requests int64
	// Blocked are the objects whose delete the pass's plan left out
	// because something still uses them, and those users: their events
	// wake the worker, though the configuration may not mention them.
	Blocked []engine.Address
}
