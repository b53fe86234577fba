package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/lxnetd/lxnetd/internal/lxd"
)

// How every command that reads remotes (plan, apply, destroy, saved plans)
// reaches them: connect and observe all of them in parallel, then plan each
// observation; every remote's problem is reported before it fails.

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
	out := make([]observation, len(names))
	errs := make([]error, len(names))
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
			if out[i].obs, errs[i] = engine.ObserveFor(ctx, r, desired, targets); errs[i] == nil {
				errs[i] = out[i].obs.ResolveImages(ctx, r, desired)
			}
			return nil
		})
	}
	_ = g.Wait()
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
