package main

// Saved plans: `lxnetd plan --out FILE` and `lxnetd apply FILE`, like
// Terraform's `plan -out` and `apply PLANFILE`. The file format and what it
// records are in package planfile; this file makes and checks them.

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lxnetd/lxnetd/config"
	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/lxnetd/lxnetd/internal/planfile"
)

// planAndSave is plan --out: it loads the configuration (directory and
// --var-files made absolute, so that apply can load it from anywhere),
// observes and plans every remote, and saves the plans with the digests of
// what was observed and the hashes of every input. The inputs are hashed
// before the configuration is read: an edit in between makes the saved plan
// stale rather than wrongly fresh.
func planAndSave(ctx context.Context, cmd *cobra.Command, args []string, lf *loadFlags, path string) ([]remotePlan, error) {
	dir, err := filepath.Abs(configDirArg(args))
	if err != nil {
		return nil, err
	}
	abs := *lf
	abs.varFiles = make([]string, len(lf.varFiles))
	for i, f := range lf.varFiles {
		if abs.varFiles[i], err = filepath.Abs(f); err != nil {
			return nil, err
		}
	}
	opts, err := abs.options()
	if err != nil {
		return nil, err
	}
	inputs, err := planfile.HashInputs(dir, abs.varFiles, opts.Environ)
	if err != nil {
		return nil, err
	}
	cfg, err := load(cmd, dir, &abs)
	if err != nil {
		return nil, err
	}
	obs, err := observeAll(ctx, cfg, remoteNames(cfg), lf.targets)
	if err != nil {
		return nil, err
	}
	popts, err := lf.planOptions(cfg)
	if err != nil {
		return nil, err
	}
	rps, err := planEach(cfg, obs, planner(cfg, popts))
	if err != nil {
		return nil, err
	}
	f := &planfile.File{
		FormatVersion: planfile.FormatVersion,
		LxnetdVersion: lxnetdVersion(),
		CreatedAt:     time.Now().UTC().Truncate(time.Second),
		Config: planfile.Config{Dir: dir, Hash: cfg.Hash, Inputs: inputs,
			Vars: opts.Vars, VarFiles: abs.varFiles, Targets: lf.targets, Replace: lf.replace},
	}
	for i, rp := range rps {
		f.Remotes = append(f.Remotes, planfile.FromPlan(rp.plan, obs[i].obs.Digest(cfg.Remotes[rp.plan.Remote], rp.plan.Owner)))
	}
	if err := planfile.Write(path, f); err != nil {
		closeAll(rps)
		return nil, err
	}
	return rps, nil
}

// savedNote tells where the plan went and how to apply it.
func savedNote(w io.Writer, path string) {
	fmt.Fprintf(w, "\nSaved the plan to %s. To apply exactly this plan, run:\n    lxnetd apply %s\n", path, path)
}

// isPlanFile tells apply's argument apart: a regular file is a saved plan,
// anything else a configuration directory.
func isPlanFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}

// stale reports a saved plan that no longer holds and ends the run before
// any write.
func stale(cmd *cobra.Command, path, what string, items []string, f *planfile.File) error {
	w := cmd.ErrOrStderr()
	fmt.Fprintf(w, "Error: the saved plan %s is stale: %s.\n", path, what)
	for _, it := range items {
		fmt.Fprintf(w, "  %s\n", it)
	}
	again := ""
	if len(f.Config.Vars) > 0 || len(f.Config.VarFiles) > 0 || len(f.Config.Targets) > 0 || len(f.Config.Replace) > 0 {
		again = " (with the same --var, --var-file and --target options)"
	}
	fmt.Fprintf(w, "Nothing was written. Review a new plan: lxnetd plan %s --out %s%s\n", f.Config.Dir, path, again)
	return exitError{1}
}

// applySaved is apply FILE: it applies the saved plan if, and only if,
// neither the configuration nor what the plan depends on in LXD changed.
// In order, before any write: the file's format and lxnetd version; the
// configuration (loadSaved); each remote's fresh observation against the
// saved digest, and a plan made from it (checkRemotes). That fresh plan is
// what is applied, through the same path as apply: it does exactly what the
// saved plan does, with the ETags LXD holds now.
func applySaved(cmd *cobra.Command, in *interrupts, path string, wf *writeFlags) error {
	for _, name := range []string{"var", "var-file", "target"} {
		if cmd.Flags().Changed(name) {
			return fmt.Errorf("--%s cannot be given with a saved plan: apply %s applies the plan as it was made, with the options it was made with; give them to lxnetd plan --out instead", name, path)
		}
	}
	f, err := planfile.Read(path)
	if err != nil {
		return err
	}
	if v := lxnetdVersion(); f.LxnetdVersion != v {
		return fmt.Errorf("the saved plan %s was made by lxnetd %s, this is lxnetd %s, which may plan differently: make a new plan with this version", path, f.LxnetdVersion, v)
	}
	cfg, err := loadSaved(cmd, path, f)
	if err != nil {
		return err
	}
	names := make([]string, len(f.Remotes))
	for i, r := range f.Remotes {
		names[i] = r.Name
	}
	obs, err := observeAll(in.stop, cfg, names, f.Config.Targets)
	if err != nil {
		return err
	}
	rps := make([]remotePlan, len(obs))
	for i, o := range obs {
		rps[i].remote = o.remote
	}
	defer closeAll(rps)
	if err := checkRemotes(cmd, path, f, cfg, obs, rps); err != nil {
		return err
	}
	return writePlans(cmd, in, cfg, rps, wf, wf.gateOptions(cmd))
}

// loadSaved loads the configuration of a saved plan, from its directory with
// its options, refusing (naming what changed) when any input or the
// configuration's hash differs from the saved ones. Inputs are compared
// first: a changed file is named even when it no longer loads.
func loadSaved(cmd *cobra.Command, path string, f *planfile.File) (*spec.Config, error) {
	opts := config.Options{Vars: f.Config.Vars, VarFiles: f.Config.VarFiles, Environ: os.Environ()}
	if opts.Vars == nil {
		opts.Vars = map[string]string{}
	}
	inputs, err := planfile.HashInputs(f.Config.Dir, f.Config.VarFiles, opts.Environ)
	if err != nil {
		return nil, err
	}
	if changed := planfile.CompareInputs(f.Config.Inputs, inputs); len(changed) > 0 {
		for i := range changed {
			changed[i] += " since the plan was made"
		}
		return nil, stale(cmd, path, "the configuration changed", changed, f)
	}
	cfg, diags := config.Load(f.Config.Dir, opts)
	if diags.Len() > 0 {
		_ = diags.WriteText(cmd.ErrOrStderr(), colorFor(cmd.ErrOrStderr()))
	}
	if diags.HasErrors() {
		return nil, exitError{1}
	}
	cliSecrets.Add(cfg.Secrets)
	if cfg.Hash != f.Config.Hash {
		return nil, stale(cmd, path, "the configuration changed", []string{"the configuration's files or variable values evaluate differently"}, f)
	}
	names := make([]string, len(f.Remotes))
	for i, r := range f.Remotes {
		names[i] = r.Name
	}
	if got := remoteNames(cfg); !slices.Equal(got, names) {
		return nil, stale(cmd, path, "the configuration changed",
			[]string{fmt.Sprintf("it declares the remotes %s, the plan has %s", strings.Join(got, ", "), strings.Join(names, ", "))}, f)
	}
	return cfg, nil
}

// checkRemotes compares each remote's fresh observation with the saved
// digest (naming objects that changed, appeared or vanished), then plans
// from it into rps and requires that plan to do exactly what the saved one
// does (same changes by Change.Fingerprint, same orphans and blockers).
func checkRemotes(cmd *cobra.Command, path string, f *planfile.File, cfg *spec.Config, obs []observation, rps []remotePlan) error {
	var changed []string
	for i, o := range obs {
		saved := f.Remotes[i]
		for _, c := range engine.CompareDigests(saved.Observed, o.obs.Digest(cfg.Remotes[saved.Name], saved.Owner)) {
			switch c.What {
			case "changed":
				changed = append(changed, fmt.Sprintf("%s changed on remote %q since the plan was made (%s)", c.Addr, saved.Name, strings.Join(c.Fields, ", ")))
			case "appeared":
				changed = append(changed, fmt.Sprintf("%s appeared on remote %q since the plan was made", c.Addr, saved.Name))
			default:
				changed = append(changed, fmt.Sprintf("%s vanished from remote %q since the plan was made", c.Addr, saved.Name))
			}
		}
	}
	if len(changed) > 0 {
		return stale(cmd, path, "LXD changed", changed, f)
	}
	for i, o := range obs {
		saved := f.Remotes[i]
		p, err := o.obs.Plan(cfg.Remotes[saved.Name], cfg.Settings, engine.PlanOptions{Targets: f.Config.Targets, Replace: f.Config.Replace})
		if err != nil {
			return err
		}
		rps[i].plan = p
		changed = append(changed, planDifferences(saved.Plan(), p)...)
	}
	if len(changed) > 0 {
		return stale(cmd, path, "a plan made now would differ", changed, f)
	}
	return nil
}

// planDifferences names what a fresh plan does differently from a saved
// one: changes that differ (by Change.Fingerprint), appear or disappear,
// and different orphans or blockers.
func planDifferences(saved, fresh *engine.Plan) []string {
	prints := func(p *engine.Plan) map[string]string {
		m := map[string]string{}
		for _, c := range p.Changes {
			m[c.Addr.String()] = c.Fingerprint()
		}
		return m
	}
	s, f := prints(saved), prints(fresh)
	var out []string
	for _, c := range saved.Changes { // in plan order, like the plan shows them
		addr := c.Addr.String()
		switch fp, ok := f[addr]; {
		case !ok:
			out = append(out, fmt.Sprintf("the change to %s on remote %q is no longer planned", addr, saved.Remote))
		case fp != s[addr]:
			out = append(out, fmt.Sprintf("the change to %s on remote %q would now be different", addr, saved.Remote))
		}
	}
	for _, c := range fresh.Changes {
		addr := c.Addr.String()
		if _, ok := s[addr]; !ok {
			out = append(out, fmt.Sprintf("a change to %s on remote %q would now be planned", addr, saved.Remote))
		}
	}
	if !slices.Equal(saved.Orphans, fresh.Orphans) {
		out = append(out, fmt.Sprintf("the orphans on remote %q differ", saved.Remote))
	}
	if !slices.Equal(saved.Blockers, fresh.Blockers) {
		out = append(out, fmt.Sprintf("the blockers on remote %q differ", saved.Remote))
	}
	return out
}
