package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/lxnetd/lxnetd/config"
	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/render"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// loadFlags are the configuration flags plan and apply share.
type loadFlags struct {
	varFlags
	targets []string
	replace []string // plan and apply only (registerReplace)
}

func (f *loadFlags) register(cmd *cobra.Command) {
	f.varFlags.register(cmd)
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
	return f.varFlags.options()
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
		_ = diags.WriteText(cmd.ErrOrStderr(), colorFor(cmd.ErrOrStderr()))
	}
	if diags.HasErrors() {
		return nil, exitError{1}
	}
	cliSecrets.Add(cfg.Secrets)
	return cfg, nil
}

// loadAndPlan is the first half that plan and apply share: read the
// configuration (diagnostics to stderr), then connect to and plan each
// remote the targets concern, every remote on its own: the plans of those
// that answered, and failed for the others. The caller closes the
// connections with closeAll. With early (apply: a function that makes it
// from the configuration), each remote's lease is taken while it is observed.
func loadAndPlan(ctx context.Context, cmd *cobra.Command, args []string, lf *loadFlags, early func(*spec.Config) *earlyLeases) (*spec.Config, []remotePlan, remoteFailures, error) {
	cfg, err := load(cmd, configDirArg(args), lf)
	if err != nil {
		return nil, nil, nil, err
	}
	opts, err := lf.planOptions(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	names, err := contactedRemotes(cfg, lf.targets)
	if err != nil {
		return nil, nil, nil, err
	}
	var el *earlyLeases
	if early != nil {
		el = early(cfg)
	}
	rps, failed := planEachRemote(ctx, cfg, names, opts.Targets, planner(cfg, opts), el)
	return cfg, rps, failed, nil
}

// planOptions are --target and --replace for cfg. A --replace that names
// no node is a typo: it is refused rather than replacing nothing.
func (f *loadFlags) planOptions(cfg *spec.Config) (engine.PlanOptions, error) {
	if bad := engine.UnmatchedReplace(f.replace, slices.Collect(maps.Values(cfg.Remotes))); len(bad) > 0 {
		return engine.PlanOptions{}, fmt.Errorf(`--replace %s: names no node of the configuration (want node.NAME or node.NAME["KEY"])`, strings.Join(bad, ", "))
	}
	return engine.PlanOptions{Targets: f.targets, Replace: f.replace}, nil
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

// signalContext is cancelled on SIGINT/SIGTERM (for the commands that only read).
func signalContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
}

func newPlanCommand() *cobra.Command {
	var (
		lf               loadFlags
		asJSON, detailed bool
		stats            bool
		outFile          string
	)
	cmd := &cobra.Command{
		Use:   "plan [dir]",
		Short: "Show what apply would change on every remote",
		Long: `plan reads the configuration, observes every remote with bulk reads and prints
what apply would create, update and delete, grouped by remote, with key-level
before → after. It writes nothing. What the plan leaves in place although LXD
then still differs from the configuration (an owned instance no longer declared
while delete_instances = false, a delete blocked by something still using the
object) is printed as a warning that says what to do, and such a plan never
says LXD matches the configuration. Like Terraform's, --detailed-exitcode's 2
means "apply would change something": warnings without changes exit 0 (apply
would do nothing); scripts that must notice them read summary.warnings from
--json.

--out FILE also saves the plan, with what it was made from, for
lxnetd apply FILE: that applies exactly this plan, or refuses before any write
when the configuration or LXD changed since.

Exit status with --detailed-exitcode: 0 no changes, 2 changes, 1 error.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := signalContext(cmd)
			defer cancel()
			var rps []remotePlan
			var failed remoteFailures
			var err error
			if outFile != "" {
				rps, err = planAndSave(ctx, cmd, args, &lf, outFile)
			} else {
				_, rps, failed, err = loadAndPlan(ctx, cmd, args, &lf, nil)
			}
			if err != nil {
				return err
			}
			defer closeAll(rps)
			plans := plansOf(rps)
			out := cmd.OutOrStdout()
			if asJSON {
				err = render.JSON(out, plans)
			} else {
				err = renderHuman(out, plans, colorFor(out), len(failed) > 0)
			}
			if err != nil {
				return err
			}
			if err := failed.report(cmd.ErrOrStderr()); err != nil {
				return err
			}
			if stats {
				if err := render.Stats(cmd.ErrOrStderr(), plans); err != nil {
					return err
				}
			}
			if outFile != "" && !asJSON {
				savedNote(out, outFile)
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
	cmd.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 0 when there are no changes (warnings alone included), 2 when there are, 1 on error")
	cmd.Flags().BoolVar(&stats, "stats", false, "print the number of LXD requests each remote took to stderr")
	cmd.Flags().StringVar(&outFile, "out", "", "also save the plan to this file, for lxnetd apply FILE (mode 0600)")
	return cmd
}

func newApplyCommand() *cobra.Command {
	var (
		lf loadFlags
		wf writeFlags
	)
	cmd := &cobra.Command{
		Use:   "apply [dir | plan-file]",
		Short: "Make every remote match the configuration",
		Long: `apply plans like plan, shows the plan, asks for confirmation on a terminal
(unless --yes), then executes exactly that plan: networks, profiles, nodes,
forwards in that order (deletes in reverse), remotes in parallel. Each action
is reported with its duration.

The delete gate runs first: a plan that deletes more than max_deletes objects
on a remote, or deletes what lxnetd owns on a remote whose configuration
declares nothing (a directory emptied by mistake), is refused before any
write. --max-deletes N and --allow-empty override the lxnet block for one run.

A failed change does not stop the changes that do not depend on it; apply
reports every failure and what was not done, and exits 1; running apply again
completes the plan. The first interrupt (Ctrl-C, SIGTERM) starts no new
change and lets the writes in flight finish; a second one aborts them.

Given a file saved by lxnetd plan --out instead of a directory, apply applies
exactly that plan, with the configuration directory and options saved in it
(so it takes no --var, --var-file or --target), and refuses before any write,
naming what changed, when a configuration file or an object the plan depends
on in LXD changed since the plan was made.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := newInterrupts(cmd)
			defer in.close()
			if len(args) == 1 && isPlanFile(args[0]) {
				return applySaved(cmd, in, args[0], &wf)
			}
			var early *earlyLeases
			cfg, rps, failed, err := loadAndPlan(in.stop, cmd, args, &lf, func(cfg *spec.Config) *earlyLeases {
				early = newEarlyLeases(in.stop, cfg.Settings, "lxnetd "+cmd.Name())
				return early
			})
			if err != nil {
				return err
			}
			defer closeAll(rps)
			defer early.releaseRest()
			wf.early = early
			// The remotes that answered go ahead; each that did not is an
			// error of its own, reported last (exit status 1).
			if len(rps) > 0 {
				wf.partial = len(failed) > 0
				err = writePlans(cmd, in, cfg, rps, &wf, wf.gateOptions(cmd))
			}
			if ferr := failed.report(cmd.ErrOrStderr()); err == nil {
				err = ferr
			}
			return err
		},
	}
	lf.register(cmd)
	wf.register(cmd)
	lf.registerReplace(cmd)
	return cmd
}

func confirm(in io.Reader, out io.Writer, question string) (bool, error) {
	fmt.Fprint(out, question+" Only 'yes' will be accepted: ")
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return false, fmt.Errorf("reading the answer: %w", err)
	}
	fmt.Fprintln(out)
	return strings.TrimSpace(line) == "yes", nil
}
