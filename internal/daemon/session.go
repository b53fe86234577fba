package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/lease"
	"github.com/lxnetd/lxnetd/engine/render"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// Remote is what a session needs from one connection to LXD: the engine's
// reads and writes, the lifecycle event stream, and the server
// configuration where leases live. The daemon gets remotes from its caller
// (cmd/lxnetd dials internal/lxd; tests use fakes), so it never imports the
// LXD client.
type Remote interface {
	engine.Remote
	lease.Store
	// Watch blocks receiving lifecycle events (see Session.Watch).
	Watch(ctx context.Context, onEvent func(engine.Event)) error
	// Close releases the connection.
	Close()
}

// Dialer connects to one remote; its errors name the remote.
type Dialer func(ctx context.Context, r *spec.Remote) (Remote, error)

// EngineConnector is the production Connector: it dials the remote and
// converges with the engine (observe, plan, gate, apply).
func EngineConnector(dial Dialer, log *slog.Logger, parallelism int) Connector {
	return func(ctx context.Context, r *spec.Remote) (Session, error) {
		rem, err := dial(ctx, r)
		if err != nil {
			return nil, err
		}
		return &engineSession{rem: rem, log: log.With("remote", r.Name), parallelism: parallelism}, nil
	}
}

// engineSession is one connection to a remote.
type engineSession struct {
	rem         Remote
	log         *slog.Logger
	parallelism int
}

var _ Session = (*engineSession)(nil)

// Converge runs one pass. It plans from a fresh bulk read, refuses plans the
// safety gate rejects (too many deletes, an empty desired set while objects
// are owned), and applies the rest with the engine, which writes deletes last.
func (s *engineSession) Converge(ctx context.Context, desired *spec.Remote, settings spec.Settings) (Outcome, error) {
	p, err := s.plan(ctx, desired, settings)
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{PlanID: newPlanID(), Objects: p.Owned}
	log := s.log.With("plan_id", out.PlanID)
	for _, w := range render.Warnings(p) { // orphans and blocked deletes, worded as plan prints them
		log.Warn("plan warning", "kind", w.Kind, "object", w.Address, "reason", w.Summary, "hint", w.Detail)
	}
	if p.Empty() {
		return out, nil
	}
	sum := p.Summary()
	if err := engine.Gate(p, desired, settings, engine.GateOptions{}); err != nil {
		out.Refused, err = refusal(err)
		return out, err
	}
	log.Info("applying plan", "create", sum.Create, "update", sum.Update, "delete", sum.Delete, "replace", sum.Replace, "lxd_requests", p.Requests)
	res, err := engine.Apply(ctx, s.rem, p, engine.ApplyOptions{
		Parallelism: s.parallelism,
		Progress: func(cr engine.ChangeResult) {
			args := []any{"object", cr.Change.Addr.String(), "action", cr.Change.Action.String(), "took", cr.Duration.Round(time.Millisecond)}
			if len(cr.Change.Sources) > 0 {
				args = append(args, "source", cr.Change.Sources[0])
			}
			if cr.Err != nil {
				log.Error("change failed", append(args, "err", cr.Err)...)
				return
			}
			log.Info("change applied", args...)
		},
	})
	if res != nil {
		out.Applied, out.Failed = len(res.Done), len(res.Failed)
	}
	if err == nil {
		out.Objects = p.Owned + sum.Create - sum.Delete
	}
	return out, err
}

// observeRetries bounds re-observation after a 404 during observe.
const observeRetries = 3

// plan observes and plans. Observing is several bulk reads, not a snapshot:
// an object deleted between two of them (a network listed, then gone when
// its forwards are read) answers 404. That says only that LXD changed under
// the read, so the pass observes again at once instead of failing.
func (s *engineSession) plan(ctx context.Context, desired *spec.Remote, settings spec.Settings) (*engine.Plan, error) {
	for i := 1; ; i++ {
		p, err := engine.NewPlan(ctx, s.rem, desired, settings, engine.PlanOptions{})
		if err == nil || !errors.Is(err, engine.ErrNotFound) || i == observeRetries || ctx.Err() != nil {
			return p, err
		}
		s.log.Debug("object vanished while observing; observing again", "err", err)
	}
}

// Watch follows the remote's lifecycle events.
func (s *engineSession) Watch(ctx context.Context, onEvent func(engine.Event)) error {
	return s.rem.Watch(ctx, onEvent)
}

// Server is what the remote's server said about itself (zero when the
// remote does not say): the worker puts it in the status and the log.
func (s *engineSession) Server() engine.ServerInfo {
	if d, ok := s.rem.(engine.ServerDescriber); ok {
		return d.Server()
	}
	return engine.ServerInfo{}
}

// sessionServer is s's server, for sessions that know it.
func sessionServer(s Session) engine.ServerInfo {
	if d, ok := s.(engine.ServerDescriber); ok {
		return d.Server()
	}
	return engine.ServerInfo{}
}

// Leases is the remote's server configuration.
func (s *engineSession) Leases() LeaseStore { return s.rem }

// Close drops the connection.
func (s *engineSession) Close() { s.rem.Close() }

// newPlanID is a random id logged with every line of one pass, to find a
// pass's lines in the journal.
func newPlanID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// refusal is Outcome.Refused for a gate error (the remote is named by the
// status line already); other errors pass through.
func refusal(err error) (string, error) {
	var ge *engine.GateError
	if !errors.As(err, &ge) {
		return "", err
	}
	return ge.Reason + "; would delete " + listSome(ge.Deletes, 5) + " (" + ge.Hint + ")", nil
}

// listSome joins up to n items and says how many more there are.
func listSome(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
