package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/render"
	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/lxnetd/lxnetd/internal/lxd"
)

// How every command that reads remotes (plan, apply, destroy, saved plans)
// reaches them: connect and observe all of them in parallel, then plan each
// observation; every remote's problem is reported before it fails.
//
// plan and apply isolate remotes (planEachRemote): a remote that cannot be
// reached, observed or planned is an error of its own, reported at the end
// with a non-zero exit status, while the others are planned and applied. A
// remote that accepts a connection and never answers fails when its
// request's deadline passes (internal/lxd: 60 s, LXNETD_REQUEST_TIMEOUT), so
// it cannot hold the others' output back forever. destroy and saved plans
// stay all-or-nothing: a saved plan is the plan of every remote, and a
// destroy is an operator's explicit request about all of them.

// remotePlan is one remote's connection and plan.
type remotePlan struct {
	remote *lxd.Remote
	plan   *engine.Plan
}

// observation is one remote's connection and what was observed there.
type observation struct {
	remote *lxd.Remote
	obs    *engine.Observation
}

// observeAll connects to the named remotes of cfg and observes them (what
// the --target addresses targets need, everything without), remotes in
// parallel; every remote's problem is reported before it fails. The caller
// closes the connections.
func observeAll(ctx context.Context, cfg *spec.Config, names, targets []string) ([]observation, error) {
	out, errs := observeEach(ctx, cfg, names, targets, nil)
	if err := errors.Join(errs...); err != nil {
		for _, o := range out {
			if o.remote != nil {
				o.remote.Close()
			}
		}
		return nil, err
	}
	return out, nil
}

// observeEach connects to the named remotes of cfg and observes them (for
// targets), in parallel: out[i] is names[i]'s observation when errs[i] is nil.
// With early (apply), each remote's lease is taken while it is observed.
func observeEach(ctx context.Context, cfg *spec.Config, names, targets []string, early *earlyLeases) (out []observation, errs []error) {
	out = make([]observation, len(names))
	errs = make([]error, len(names))
	var g errgroup.Group
	for i, name := range names {
		g.Go(func() error {
			desired, ok := cfg.Remotes[name]
			if !ok {
				errs[i] = fmt.Errorf("remote %q is not in the configuration", name)
				return nil
			}
			r, err := lxd.Connect(ctx, desired) // its errors name the remote
			if err != nil {
				errs[i] = err
				return nil
			}
			out[i].remote = r
			early.start(r)
			if out[i].obs, errs[i] = engine.ObserveFor(ctx, r, desired, targets); errs[i] == nil {
				errs[i] = out[i].obs.ResolveImages(ctx, r, desired)
			}
			return nil
		})
	}
	_ = g.Wait()
	return out, errs
}

// remoteNames are the configuration's remotes, sorted.
func remoteNames(cfg *spec.Config) []string { return slices.Sorted(maps.Keys(cfg.Remotes)) }

// planFunc plans one observed remote against its configuration.
type planFunc func(o *engine.Observation, desired *spec.Remote) (*engine.Plan, error)

// planner is the planFunc of plan and apply.
func planner(cfg *spec.Config, opts engine.PlanOptions) planFunc {
	return func(o *engine.Observation, desired *spec.Remote) (*engine.Plan, error) {
		return o.Plan(desired, cfg.Settings, opts)
	}
}

// planEach plans every observed remote with plan; on error it closes the
// connections.
func planEach(cfg *spec.Config, obs []observation, plan planFunc) ([]remotePlan, error) {
	rps := make([]remotePlan, len(obs))
	var errs []error
	for i, o := range obs {
		rps[i].remote = o.remote
		p, err := plan(o.obs, cfg.Remotes[o.remote.Name()])
		if p != nil {
			slog.Debug("planned", "remote", p.Remote, "requests", p.Requests, "forward_networks", p.ForwardNetworks,
				"owned", p.Owned, "changes", len(p.Changes))
		}
		rps[i].plan = p
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		closeAll(rps)
		return nil, err
	}
	return rps, nil
}

// planAll connects to, observes (for targets) and plans every remote of cfg.
func planAll(ctx context.Context, cfg *spec.Config, targets []string, plan planFunc) ([]remotePlan, error) {
	obs, err := observeAll(ctx, cfg, remoteNames(cfg), targets)
	if err != nil {
		return nil, err
	}
	return planEach(cfg, obs, plan)
}

// planEachRemote connects to, observes (for targets) and plans the named
// remotes of cfg, each on its own: it returns the plans of those that
// answered and, as failures, one error per remote that did not (its
// connection closed).
func planEachRemote(ctx context.Context, cfg *spec.Config, names, targets []string, plan planFunc, early *earlyLeases) ([]remotePlan, remoteFailures) {
	obs, errs := observeEach(ctx, cfg, names, targets, early)
	var rps []remotePlan
	var failed remoteFailures
	for i, o := range obs {
		if errs[i] != nil {
			if o.remote != nil {
				early.release(names[i]) // while its connection is open
				o.remote.Close()
			}
			failed = append(failed, errs[i])
			continue
		}
		p, err := plan(o.obs, cfg.Remotes[o.remote.Name()])
		if err != nil {
			early.release(names[i])
			o.remote.Close()
			failed = append(failed, fmt.Errorf("remote %q: %w", names[i], err))
			continue
		}
		slog.Debug("planned", "remote", p.Remote, "requests", p.Requests, "forward_networks", p.ForwardNetworks,
			"owned", p.Owned, "changes", len(p.Changes))
		rps = append(rps, remotePlan{remote: o.remote, plan: p})
	}
	return rps, failed
}

// remoteFailures are the remotes of a run that could not be reached,
// observed or planned; the run went on with the others.
type remoteFailures []error

// report prints each failure and returns exitError{1} when there is one.
func (f remoteFailures) report(w io.Writer) error {
	for _, err := range f {
		fmt.Fprintf(w, "Error: %v\n  Nothing was planned or written on this remote; the other remotes went ahead.\n", err)
	}
	if len(f) > 0 {
		return exitError{1}
	}
	return nil
}

// contactedRemotes are the remotes a plan must read: every remote of cfg,
// or, when every --target names a remote (remote.NAME), only those. A target
// of another kind may select a change on any remote (a delete of an object
// that moved from one remote to another), so then every remote is read.
func contactedRemotes(cfg *spec.Config, targets []string) ([]string, error) {
	var names []string
	for _, t := range targets {
		name, ok := strings.CutPrefix(t, "remote.")
		if !ok {
			return remoteNames(cfg), nil
		}
		if _, known := cfg.Remotes[name]; !known {
			return nil, fmt.Errorf("--target %s: the configuration has no remote %q (it has %s)", t, name, strings.Join(remoteNames(cfg), ", "))
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	if len(targets) == 0 {
		return remoteNames(cfg), nil
	}
	slices.Sort(names)
	return names, nil
}

// renderHuman is render.Human for the remotes that answered. When some did
// not (partial), the closing "LXD matches the configuration" would claim
// what nobody checked, so it names what it covers instead.
func renderHuman(w io.Writer, plans []*engine.Plan, color, partial bool) error {
	if !partial {
		return render.Human(w, plans, color)
	}
	if len(plans) == 0 {
		return nil
	}
	var b strings.Builder
	if err := render.Human(&b, plans, color); err != nil {
		return err
	}
	_, err := io.WriteString(w, strings.Replace(b.String(), "No changes. LXD matches the configuration.\n", "No changes on the remotes that answered.\n", 1))
	return err
}
