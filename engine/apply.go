package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// Parallelism bounds concurrent writes on the remote (default 2: LXD
	// serializes writes internally, more only adds latency).
	Parallelism int
	// Progress, when set, is called after each change finishes, from the
	// goroutine that ran it.
	Progress func(ChangeResult)
	// Abort, when set and done, cancels the writes in flight as well (a
	// second Ctrl-C). Without it, the end of Apply's ctx only stops new
	// changes from starting: a write already sent finishes (within
	// WriteGrace), so LXD is never left with half a request.
	Abort context.Context
	// WriteGrace bounds a write in flight after ctx ended (default 2m).
	WriteGrace time.Duration
}

// ChangeResult is the outcome of one change.
type ChangeResult struct {
	Remote   string
	Change   *Change
	Duration time.Duration
	Err      error
}

// Skipped is a change Apply did not start, and why.
type Skipped struct {
	*Change
	Reason string
}

// Result says what an Apply did: every change is in exactly one of Done,
// Failed and NotDone.
type Result struct {
	Remote  string
	Done    []ChangeResult
	Failed  []ChangeResult
	NotDone []Skipped // not started: it depends on a failed change, or ctx ended
}

// maxRetries bounds re-read-and-retry rounds on 412 Precondition Failed.
const maxRetries = 5

// defaultWriteGrace bounds a write in flight once Apply was told to stop.
const defaultWriteGrace = 2 * time.Minute

// Apply executes exactly the changes of p on r, in phases: creates and
// updates of networks, profiles, nodes, forwards, then deletes of forwards,
// nodes, profiles, networks. Within a phase up to Parallelism changes run at
// once, but forward writes on one network run strictly one at a time (LXD
// 5.0.2 races there).
//
// A failed change does not stop the others: a change that depends on it (a
// node on a network whose create failed, a network delete after a failed
// forward delete on it) is skipped, everything else goes on, and every
// failure is reported. When ctx ends, no new change starts and the writes in
// flight finish (see ApplyOptions.Abort). The error says how many changes
// were done; the next plan completes the rest.
func Apply(ctx context.Context, r Remote, p *Plan, opts ApplyOptions) (*Result, error) {
	par := opts.Parallelism
	if par <= 0 {
		par = 2
	}
	grace := opts.WriteGrace
	if grace <= 0 {
		grace = defaultWriteGrace
	}
	res := &Result{Remote: p.Remote}
	var mu sync.Mutex
	broken := map[Address]string{} // failed or skipped changes, and why
	netLocks := map[string]*sync.Mutex{}
	for _, c := range p.Changes {
		if c.Addr.Kind == KindForward && netLocks[c.Addr.Network] == nil {
			netLocks[c.Addr.Network] = &sync.Mutex{}
		}
	}
	for _, phase := range phases(p.Changes) {
		g := new(errgroup.Group)
		g.SetLimit(par)
		for _, c := range phase {
			// Decide only once a slot is free: a change may fail meanwhile.
			g.Go(func() error {
				mu.Lock()
				reason := skipReason(ctx, c, broken)
				if reason != "" {
					broken[c.Addr] = reason
					res.NotDone = append(res.NotDone, Skipped{Change: c, Reason: reason})
				}
				mu.Unlock()
				if reason != "" {
					return nil
				}
				if l := netLocks[c.Addr.Network]; c.Addr.Kind == KindForward && l != nil {
					l.Lock()
					defer l.Unlock()
				}
				wctx, cancel := writeContext(ctx, opts.Abort, grace)
				defer cancel()
				start := time.Now()
				err := p.Secrets.Error(applyChange(wctx, r, c))
				cr := ChangeResult{Remote: p.Remote, Change: c, Duration: time.Since(start), Err: err}
				mu.Lock()
				if err != nil {
					broken[c.Addr] = "it depends on " + c.Addr.String() + ", which failed"
					res.Failed = append(res.Failed, cr)
				} else {
					res.Done = append(res.Done, cr)
				}
				mu.Unlock()
				if opts.Progress != nil {
					opts.Progress(cr)
				}
				return nil
			})
		}
		_ = g.Wait()
	}
	if len(res.Failed) > 0 || len(res.NotDone) > 0 {
		var errs []error
		for _, f := range res.Failed {
			errs = append(errs, f.Err)
		}
		if len(errs) == 0 {
			errs = append(errs, context.Cause(ctx))
		}
		return res, fmt.Errorf("applying plan on remote %q: %d done, %d failed, %d not done: %w",
			p.Remote, len(res.Done), len(res.Failed), len(res.NotDone), errors.Join(errs...))
	}
	return res, nil
}

// skipReason says why c must not start: Apply was told to stop, or c
// depends on a change that failed or was skipped. "" means go.
func skipReason(ctx context.Context, c *Change, broken map[Address]string) string {
	if ctx.Err() != nil {
		return "interrupted before it started"
	}
	for _, d := range dependencies(c) {
		for a, why := range broken {
			if a != d && !(d.Kind == KindForward && d.Name == "" && a.Kind == KindForward && a.Network == d.Network) {
				continue
			}
			if strings.HasPrefix(why, "it depends on ") {
				return why
			}
			return "it depends on " + a.String() + ", which was not done"
		}
	}
	return ""
}

// writeContext is the context of one write: ctx's values without its
// cancellation (a write in flight finishes when Apply is told to stop),
// bounded by grace once ctx ends, and cancelled at once by abort.
func writeContext(ctx, abort context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	wctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(grace, func() { cancel(fmt.Errorf("write still running %s after the interrupt", grace)) })
		context.AfterFunc(wctx, func() { t.Stop() })
	})
	stopAbort := func() bool { return true }
	if abort != nil {
		stopAbort = context.AfterFunc(abort, func() { cancel(errors.New("aborted")) })
	}
	return wctx, func() {
		stop()
		stopAbort()
		cancel(nil)
	}
}

// phases groups changes (already in plan order) into barriers: one phase per
// kind for creates/updates/replaces, then one per kind for deletes.
func phases(changes []*Change) [][]*Change {
	var out [][]*Change
	var cur []*Change
	key := func(c *Change) string { return fmt.Sprint(c.Action == Delete, c.Addr.Kind) }
	for i, c := range changes {
		if i > 0 && key(c) != key(changes[i-1]) {
			out = append(out, cur)
			cur = nil
		}
		cur = append(cur, c)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// applyChange writes one change and names it in the error, so a failed
// apply says which object failed and how.
func applyChange(ctx context.Context, r Remote, c *Change) error {
	if !knownAction(c) {
		return fmt.Errorf("%s %s: unknown action %q for a %s", verb(c.Action), c.Addr, c.Action.String(), c.Addr.Kind)
	}
	var err error
	switch c.Addr.Kind {
	case KindNetwork:
		err = explainNetworkFailure(ctx, r, c, applyNetwork(ctx, r, c)) // hostfeatures.go
	case KindProfile:
		err = applyProfile(ctx, r, c)
	case KindNode:
		err = applyInstance(ctx, r, c)
	case KindForward:
		err = applyForward(ctx, r, c)
	case KindACL:
		err = applyACL(ctx, r, c)
	default:
		err = fmt.Errorf("unknown kind %q", c.Addr.Kind)
	}

	if err != nil {
		return fmt.Errorf("%s %s: %w", verb(c.Action), c.Addr, err)
	}
	return nil
}

// knownAction reports whether the apply functions below implement c's
// action for its kind (an action they do not know must fail, never pass as
// done).
func knownAction(c *Change) bool {
	switch c.Action {
	case Create, Update, Delete:
		return true
	case Replace:
		return c.Addr.Kind == KindNetwork || c.Addr.Kind == KindNode || (c.Addr.Kind == KindForward && c.From != nil)
	}
	return false
}

// verb is the gerund of an action for error messages ("creating ...").
func verb(a Action) string {
	switch a {
	case Create:
		return "creating"
	case Update:
		return "updating"
	case Delete:
		return "deleting"
	case Replace:
		return "replacing"
	}
	return "changing"
}

// patchAndUpdate writes the observed object obs (named name) with patch
// applied, and on 412 re-reads the object (one targeted read; ErrNotFound
// when someone deleted it since the plan) and retries with the patch
// applied to the fresh copy.
func patchAndUpdate[T any](ctx context.Context, obs T, name string, patch *Patch, apply func(T, *Patch) T,
	get func(context.Context, string) (T, error), update func(context.Context, T) error) error {
	obj := apply(obs, patch)
	for attempt := 0; ; attempt++ {
		err := update(ctx, obj)
		if !errors.Is(err, ErrPreconditionFailed) || attempt >= maxRetries {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fresh, err := get(ctx, name)
		if err != nil {
			return fmt.Errorf("re-reading after a stale etag: %w", err)
		}
		obj = apply(fresh, patch)
	}
}

// patchFields applies a Patch to what objects of every kind have, and
// patchNetwork..patchForward to a whole object, without modifying the
// observed object: the planned object and, after a 412, each fresh copy get
// the same changes. devices is nil for the kinds without devices.
func (p *Patch) patchFields(config *map[string]string, description *string, devices *map[string]map[string]string) {
	*config = patchConfig(*config, p)
	if p.Description != nil {
		*description = *p.Description
	}
	if devices != nil {
		*devices = patchDevices(*devices, p)
	}
}

func patchConfig(cfg map[string]string, p *Patch) map[string]string {
	out := maps.Clone(cfg)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, p.SetConfig)
	for _, k := range p.UnsetConfig {
		delete(out, k)
	}
	return out
}

func patchDevices(devs map[string]map[string]string, p *Patch) map[string]map[string]string {
	out := make(map[string]map[string]string, len(devs))
	for k, v := range devs {
		out[k] = maps.Clone(v)
	}
	for k, v := range p.SetDevices {
		out[k] = maps.Clone(v)
	}
	for _, k := range p.RemoveDevices {
		delete(out, k)
	}
	return out
}

func patchNetwork(n Network, p *Patch) Network {
	p.patchFields(&n.Config, &n.Description, nil)
	return n
}

func patchProfile(pr Profile, p *Patch) Profile {
	p.patchFields(&pr.Config, &pr.Description, &pr.Devices)
	return pr
}

func patchInstance(i Instance, p *Patch) Instance {
	p.patchFields(&i.Config, &i.Description, &i.Devices)
	if p.Profiles != nil {
		i.Profiles = slices.Clone(p.Profiles)
	}
	return i
}

func patchForward(f Forward, p *Patch) Forward {
	p.patchFields(&f.Config, &f.Description, nil)
	if p.SetPorts {
		f.Ports = slices.Clone(p.Ports)
	}
	return f
}

// writer is how Apply writes one kind of object that LXD creates, updates
// (conditionally: see patchAndUpdate) and deletes by name.
type writer[T any] struct {
	create func(context.Context, T) error
	get    func(context.Context, string) (T, error)
	update func(context.Context, T) error
	delete func(context.Context, string) error
	patch  func(T, *Patch) T
}

// write applies c to obj, the object c carries (named name). A replace
// deletes and re-creates (knownAction says which kinds allow it).
func (w writer[T]) write(ctx context.Context, c *Change, obj T, name string) error {
	switch c.Action {
	case Create:
		return w.create(ctx, obj)
	case Replace:
		if err := w.delete(ctx, name); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		return w.create(ctx, obj)
	case Update:
		return patchAndUpdate(ctx, obj, name, c.Patch, w.patch, w.get, w.update)
	case Delete:
		return ignoreNotFound(w.delete(ctx, name))
	}
	return fmt.Errorf("unknown action %q", c.Action.String())
}

func applyNetwork(ctx context.Context, r Remote, c *Change) error {
	w := writer[Network]{r.CreateNetwork, r.GetNetwork, r.UpdateNetwork, r.DeleteNetwork, patchNetwork}
	return w.write(ctx, c, *c.Network, c.Network.Name)
}

func applyProfile(ctx context.Context, r Remote, c *Change) error {
	w := writer[Profile]{r.CreateProfile, r.GetProfile, r.UpdateProfile, r.DeleteProfile, patchProfile}
	return w.write(ctx, c, *c.Profile, c.Profile.Name)
}

func applyInstance(ctx context.Context, r Remote, c *Change) error {
	name := c.Instance.Name
	switch c.Action {
	case Replace:
		if err := deleteInstance(ctx, r, name, ""); err != nil {
			return err
		}
		fallthrough
	case Create:
		if err := r.CreateInstance(ctx, *c.Instance); err != nil {
			return err
		}
		if c.Patch != nil && c.Patch.State == "running" {
			if err := r.SetInstanceState(ctx, name, "start", false); err != nil {
				return fmt.Errorf("starting: %w", err)
			}
		}
		return nil
	case Update:
		if c.Patch.writes() {
			if err := patchAndUpdate(ctx, *c.Instance, name, c.Patch, patchInstance, r.GetInstance, r.UpdateInstance); err != nil {
				return err
			}
		}
		switch c.Patch.State {
		case "running":
			return r.SetInstanceState(ctx, name, "start", false)
		case "stopped":
			return r.SetInstanceState(ctx, name, "stop", false)
		}
		return nil
	case Delete:
		return deleteInstance(ctx, r, name, c.Instance.Status)
	}
	return nil
}

// deleteInstance force-stops an instance unless it is known to be stopped,
// then deletes it. A stop that fails because the instance is not running is
// harmless: the delete then says what is wrong, if anything.
func deleteInstance(ctx context.Context, r Remote, name, status string) error {
	if status != "Stopped" {
		_ = r.SetInstanceState(ctx, name, "stop", true)
	}
	return ignoreNotFound(r.DeleteInstance(ctx, name))
}

func applyForward(ctx context.Context, r Remote, c *Change) error {
	f := *c.Forward
	switch c.Action {
	case Replace: // to another cluster member (forwardmember.go)
		if err := ignoreNotFound(r.DeleteForward(ctx, c.From.Network, c.From.ListenAddress, c.From.Location)); err != nil {
			return err
		}
		return r.CreateForward(ctx, f)
	case Create:
		return r.CreateForward(ctx, f)
	case Update:
		return r.UpdateForward(ctx, patchForward(f, c.Patch))
	case Delete:
		return ignoreNotFound(r.DeleteForward(ctx, f.Network, f.ListenAddress, f.Location))
	}
	return nil
}

// ignoreNotFound treats deleting something already gone as done, so a plan
// interrupted half-way can be re-applied.
func ignoreNotFound(err error) error {
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}
