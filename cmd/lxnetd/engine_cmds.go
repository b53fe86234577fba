package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"golang.org/x/term"

	"github.com/lxnetd/lxnetd/config"
	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/render"
	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/lxnetd/lxnetd/internal/lxd"
)

// loadFlags are the configuration flags plan and apply share.
type loadFlags struct {
	vars     []string
	varFiles []string
	targets  []string
	replace  []string // plan and apply only (registerReplace)
}

func (f *loadFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.vars, "var", nil, "set a variable (name=value; repeatable)")
	cmd.Flags().StringArrayVar(&f.varFiles, "var-file", nil, "read variable values from a file (repeatable)")
	cmd.Flags().StringArrayVar(&f.targets, "target", nil,
		"limit the plan to objects compiled from an address: node.x, service.y, forward.w, network.n, profile.p, remote.z (repeatable)")
}

// registerReplace adds --replace (plan and apply): Terraform's -replace.
func (f *loadFlags) registerReplace(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.replace, "replace", nil,
		`replace a node (delete, create, start) in this run, changed or not, even without delete_instances: node.x or node.x["key"] (repeatable). `+
			`A node whose image, type, target or root disk pool changed is replaced only so or with delete_instances = true; otherwise the plan shows it blocked`)
}

// targetKinds are the address kinds --target accepts.
var targetKinds = []string{"node", "service", "forward", "network", "profile", "remote"}

// options checks --target and turns --var/--var-file into config.Options
// the way run does.
func (f *loadFlags) options() (config.Options, error) {
	for _, t := range f.targets {
		kind, name, _ := strings.Cut(t, ".")
		if !slices.Contains(targetKinds, kind) || name == "" {
			return config.Options{}, fmt.Errorf("--target %q: want KIND.NAME with KIND one of %s (e.g. node.web1)", t, strings.Join(targetKinds, ", "))
		}
	}
	return configOptions(f.vars, f.varFiles)
}

// isTTY reports whether f is a terminal (colour and prompts only there).
func isTTY(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// load reads the configuration, printing diagnostics (warnings too) to stderr.
func load(cmd *cobra.Command, dir string, lf *loadFlags) (*spec.Config, error) {
	opts, err := lf.options()
	if err != nil {
		return nil, err
	}
	cfg, diags := config.Load(dir, opts)
	if diags.Len() > 0 {
		_ = diags.WriteText(cmd.ErrOrStderr(), isTTY(cmd.ErrOrStderr()))
	}
	if diags.HasErrors() {
		return nil, exitError{1}
	}
	return cfg, nil
}

// remotePlan is one remote's connection and plan.
type remotePlan struct {
	remote *lxd.Remote
	plan   *engine.Plan
}

// planAll connects to every remote and plans it, remotes in parallel. All
// problems of all remotes are reported before it fails.
func planAll(ctx context.Context, cfg *spec.Config, opts engine.PlanOptions) ([]remotePlan, error) {
	names := slices.Sorted(maps.Keys(cfg.Remotes))
	out := make([]remotePlan, len(names))
	errs := make([]error, len(names))
	var g errgroup.Group
	for i, name := range names {
		g.Go(func() error {
			r, err := lxd.Connect(ctx, cfg.Remotes[name])
			if err != nil {
				errs[i] = fmt.Errorf("connecting to remote %q: %w", name, err)
				return nil
			}
			out[i].remote = r
			out[i].plan, errs[i] = engine.NewPlan(ctx, r, cfg.Remotes[name], cfg.Settings, opts)
			if p := out[i].plan; p != nil {
				slog.Debug("planned", "remote", name, "requests", p.Requests, "forward_networks", p.ForwardNetworks,
					"owned", p.Owned, "changes", len(p.Changes))
			}
			return nil
		})
	}
	_ = g.Wait()
	if err := errors.Join(errs...); err != nil {
		closeAll(out)
		return nil, err
	}
	return out, nil
}

// loadAndPlan is the first half that plan and apply share: read the
// configuration (diagnostics to stderr), then connect to and plan every
// remote. The caller closes the connections with closeAll.
func loadAndPlan(ctx context.Context, cmd *cobra.Command, args []string, lf *loadFlags) ([]remotePlan, error) {
	cfg, err := load(cmd, configDirArg(args), lf)
	if err != nil {
		return nil, err
	}
	// A --replace that names no node is a typo: refuse it rather than
	// replace nothing.
	if bad := engine.UnmatchedReplace(lf.replace, slices.Collect(maps.Values(cfg.Remotes))); len(bad) > 0 {
		return nil, fmt.Errorf(`--replace %s: names no node of the configuration (want node.NAME or node.NAME["KEY"])`, strings.Join(bad, ", "))
	}
	return planAll(ctx, cfg, engine.PlanOptions{Targets: lf.targets, Replace: lf.replace})
}

// allEmpty reports whether no plan changes anything: plan's exit status 0
// and apply's early return without a prompt.
func allEmpty(plans []*engine.Plan) bool {
	for _, p := range plans {
		if !p.Empty() {
			return false
		}
	}
	return true
}

func closeAll(rps []remotePlan) {
	for _, rp := range rps {
		if rp.remote != nil {
			rp.remote.Close()
		}
	}
}

func plansOf(rps []remotePlan) []*engine.Plan {
	out := make([]*engine.Plan, len(rps))
	for i, rp := range rps {
		out[i] = rp.plan
	}
	return out
}

// signalContext is cancelled on SIGINT/SIGTERM: an apply then finishes the
// writes in flight and reports what was not done.
func signalContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
}

func newPlanCommand() *cobra.Command {
	var (
		lf               loadFlags
		asJSON, detailed bool
		stats            bool
	)
	cmd := &cobra.Command{
		Use:   "plan [dir]",
		Short: "Show what apply would change on every remote",
		Long: `plan reads the configuration, observes every remote with bulk reads and prints
what apply would create, update and delete, grouped by remote, with key-level
before → after. It writes nothing.

Exit status with --detailed-exitcode: 0 no changes, 2 changes, 1 error.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := signalContext(cmd)
			defer cancel()
			rps, err := loadAndPlan(ctx, cmd, args, &lf)
			if err != nil {
				return err
			}
			defer closeAll(rps)
			plans := plansOf(rps)
			out := cmd.OutOrStdout()
			if asJSON {
				err = render.JSON(out, plans)
			} else {
				err = render.Human(out, plans, isTTY(out))
			}
			if err != nil {
				return err
			}
			if stats {
				if err := render.Stats(cmd.ErrOrStderr(), plans); err != nil {
					return err
				}
			}
			if detailed && !allEmpty(plans) {
				return exitError{2}
			}
			return nil
		},
	}
	lf.register(cmd)
	lf.registerReplace(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the plan as JSON")
	cmd.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 0 when there are no changes, 2 when there are, 1 on error")
	cmd.Flags().BoolVar(&stats, "stats", false, "print the number of LXD requests each remote took to stderr")
	return cmd
}

func newApplyCommand() *cobra.Command {
	var (
		lf          loadFlags
		yes         bool
		parallelism int
	)
	cmd := &cobra.Command{
		Use:   "apply [dir]",
		Short: "Make every remote match the configuration",
		Long: `apply plans like plan, shows the plan, asks for confirmation on a terminal
(unless --yes), then executes exactly that plan: networks, profiles, nodes,
forwards in that order (deletes in reverse), remotes in parallel. Each action
is reported with its duration. If anything fails, apply says what was done and
what was not, and exits 1; running apply again completes the plan.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := signalContext(cmd)
			defer cancel()
			rps, err := loadAndPlan(ctx, cmd, args, &lf)
			if err != nil {
				return err
			}
			defer closeAll(rps)
			out := cmd.OutOrStdout()
			color := isTTY(out)
			plans := plansOf(rps)
			if err := render.Human(out, plans, color); err != nil {
				return err
			}
			if allEmpty(plans) {
				return nil
			}
			if !yes {
				if !isTTY(cmd.InOrStdin()) {
					return errors.New("refusing to apply without confirmation: stdin is not a terminal (use --yes)")
				}
				ok, err := confirm(cmd.InOrStdin(), out)
				if err != nil {
					return err
				}
				if !ok {
					fmt.Fprintln(out, "Apply cancelled.")
					return exitError{1}
				}
			}
			results := applyAll(ctx, rps, parallelism, out, color)
			if err := render.Outcome(out, results, color); err != nil {
				return err
			}
			for _, r := range results {
				if len(r.Failed) > 0 || len(r.NotDone) > 0 {
					return exitError{1}
				}
			}
			return nil
		},
	}
	lf.register(cmd)
	lf.registerReplace(cmd)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "apply without asking")
	cmd.Flags().IntVar(&parallelism, "parallelism", 2, "concurrent writes per remote")
	return cmd
}

func confirm(in io.Reader, out io.Writer) (bool, error) {
	fmt.Fprint(out, "Apply these changes? Only 'yes' will be accepted: ")
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return false, fmt.Errorf("reading the answer: %w", err)
	}
	fmt.Fprintln(out)
	return strings.TrimSpace(line) == "yes", nil
}

// applyAll applies every remote's plan, remotes in parallel, printing each
// finished action as it happens.
func applyAll(ctx context.Context, rps []remotePlan, parallelism int, out io.Writer, color bool) []*engine.Result {
	var mu sync.Mutex
	progress := func(cr engine.ChangeResult) {
		mu.Lock()
		defer mu.Unlock()
		_ = render.Progress(out, cr, color)
	}
	results := make([]*engine.Result, len(rps))
	var wg sync.WaitGroup
	for i, rp := range rps {
		if rp.plan.Empty() {
			results[i] = &engine.Result{Remote: rp.plan.Remote}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, _ := engine.Apply(ctx, rp.remote, rp.plan, engine.ApplyOptions{Parallelism: parallelism, Progress: progress})
			results[i] = res
		}()
	}
	wg.Wait()
	return results
}
