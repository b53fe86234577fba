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
	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/lxnetd/lxnetd/internal/lxd"
)

// LXDConnector is the production Connector: it connects with internal/lxd
// and converges with the engine (observe, plan, gate, apply).
func LXDConnector(log *slog.Logger, parallelism int) Connector {
	return func(ctx context.Context, r *spec.Remote) (Session, error) {
		rem, err := lxd.Connect(ctx, r)
		if err != nil {
			return nil, err
		}
		return &engineSession{rem: rem, log: log.With("remote", r.Name), parallelism: parallelism}, nil
	}
}

// engineSession is one connection to a remote.
type engineSession struct {
	rem         *lxd.Remote
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
	for _, b := range p.Blockers {
		log.Warn("change blocked", "reason", b) // a delete still in use, or a replace not allowed
	}
	if p.Empty() {
		return out, nil
	}
	sum := p.Summary()
	if why := Gate(DesiredObjects(desired), p.Owned, p.Deletes(), settings); why != "" {
		var dels []string
		for _, c := range p.Changes {
			if c.Action == engine.Delete || c.Action == engine.Replace {
				dels = append(dels, c.Addr.String())
			}
			log.Debug("refused change", "object", c.Addr.String(), "action", c.Action.String())
		}
		out.Refused = why + "; would delete " + listSome(dels, 5)
		return out, nil
	}
	log.Info("applying plan", "create", sum.Create, "update", sum.Update, "delete", sum.Delete, "replace", sum.Replace, "lxd_requests", p.Requests)
	res, err := engine.Apply(ctx, shield{s.rem}, p, engine.ApplyOptions{
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
func (s *engineSession) Watch(ctx context.Context, onEvent func(string)) error {
	return s.rem.WatchLifecycle(ctx, onEvent)
}

// Close drops the connection.
func (s *engineSession) Close() { s.rem.Close() }

// newPlanID is a random id logged with every line of one pass, to find a
// pass's lines in the journal.
func newPlanID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// shield lets a write in flight finish when the daemon stops: engine.Apply
// sees the cancelled context and starts no new change, but the write it
// already issued runs on a context that is not cancelled (bounded by
// writeGrace), so LXD is never left with half a request.
type shield struct{ engine.Remote }

const writeGrace = 2 * time.Minute

// writeContext is the context of one write shield passes on: ctx's values
// without its cancellation, bounded by writeGrace.
func writeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), writeGrace)
}

func (s shield) CreateNetwork(ctx context.Context, n engine.Network) error {
	ctx, cancel := writeContext(ctx)
	defer cancel()
	return s.Remote.CreateNetwork(ctx, n)
}

func (s shield) UpdateNetwork(ctx context.Context, n engine.Network) error {
	ctx, cancel := writeContext(ctx)
	defer cancel()
	return s.Remote.UpdateNetwork(ctx, n)
}

func (s shield) DeleteNetwork(ctx context.Context, name string) error {
	ctx, cancel := writeContext(ctx)
	defer cancel()
	return s.Remote.DeleteNetwork(ctx, name)
}

func (s shield) CreateProfile(ctx context.Context, p engine.Profile) error {
	ctx, cancel := writeContext(ctx)
	defer cancel()
	return s.Remote.CreateProfile(ctx, p)
}

func (s shield) UpdateProfile(ctx context.Context, p engine.Profile) error {
	ctx, cancel := writeContext(ctx)
	defer cancel()
	return s.Remote.UpdateProfile(ctx, p)
}

func (s shield) DeleteProfile(ctx context.Context, name string) error {
	ctx, cancel := writeContext(ctx)
	defer cancel()
	return s.Remote.DeleteProfile(ctx, name)
}

func (s shield) CreateInstance(ctx context.Context, i engine.Instance) error {
	ctx, cancel := writeContext(ctx)
	defer cancel()
	return s.Remote.CreateInstance(ctx, i)
}

func (s shield) UpdateInstance(ctx context.Context, i engine.Instance) error {
	ctx, cancel := writeContext(ctx)
	defer cancel()
	return s.Remote.UpdateInstance(ctx, i)
}

func (s shield) SetInstanceState(ctx context.Context, name, action string, force bool) error {
	ctx, cancel := writeContext(ctx)
	defer cancel()
	return s.Remote.SetInstanceState(ctx, name, action, force)
}

func (s shield) DeleteInstance(ctx context.Context, name string) error {
	ctx, cancel := writeContext(ctx)
	defer cancel()
	return s.Remote.DeleteInstance(ctx, name)
}

func (s shield) CreateForward(ctx context.Context, f engine.Forward) error {
	ctx, cancel := writeContext(ctx)
	defer cancel()
	return s.Remote.CreateForward(ctx, f)
}

func (s shield) UpdateForward(ctx context.Context, f engine.Forward) error {
	ctx, cancel := writeContext(ctx)
	defer cancel()
	return s.Remote.UpdateForward(ctx, f)
}

func (s shield) DeleteForward(ctx context.Context, network, listenAddress string) error {
	ctx, cancel := writeContext(ctx)
	defer cancel()
	return s.Remote.DeleteForward(ctx, network, listenAddress)
}

// listSome joins up to n items and says how many more there are.
func listSome(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
