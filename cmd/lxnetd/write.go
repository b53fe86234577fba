package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/render"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// writeFlags are the flags of the commands that write (apply, destroy).
type writeFlags struct {
	command     string // "apply" or "destroy", for the prompt and messages
	yes         bool
	parallelism int
	maxDeletes  int
	allowEmpty  bool
	// partial: some remotes of the run could not be planned (remotes.go);
	// the plan shown covers only the others.
	partial bool
	// early: the leases apply took while observing (nil: taken after the
	// plan, as destroy and apply FILE do).
	early *earlyLeases
}

func (f *writeFlags) register(cmd *cobra.Command) {
	f.command = cmd.Name()
	cmd.Flags().BoolVarP(&f.yes, "yes", "y", false, cmd.Name()+" without asking")
	cmd.Flags().IntVar(&f.parallelism, "parallelism", 2, "concurrent writes per remote")
	cmd.Flags().IntVar(&f.maxDeletes, "max-deletes", 0,
		"for this run only, allow up to this many deletes per remote instead of lxnet { max_deletes }")
	cmd.Flags().BoolVar(&f.allowEmpty, "allow-empty", false,
		"for this run only, allow deleting everything on a remote whose configuration declares nothing (as lxnet { allow_empty = true })")
	// Checked before anything is read: a negative limit would switch the
	// gate off, which lxnet { max_deletes } does not allow either.
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if f.maxDeletes < 0 {
			return fmt.Errorf("--max-deletes %d: give 0 or more (the number of deletes allowed on each remote for this run)", f.maxDeletes)
		}
		return nil
	}
}

// gateOptions are the one-run overrides of the delete gate the flags ask for.
func (f *writeFlags) gateOptions(cmd *cobra.Command) engine.GateOptions {
	o := engine.GateOptions{AllowEmpty: f.allowEmpty}
	if cmd.Flags().Changed("max-deletes") {
		o.MaxDeletes = &f.maxDeletes
	}
	return o
}

// interrupts turns SIGINT/SIGTERM into two stages: the first cancels stop
// (no new change starts, the writes in flight finish), the second cancels
// abort (the writes in flight are cancelled too).
type interrupts struct {
	stop, abort context.Context
	close       func()
}

func newInterrupts(cmd *cobra.Command) *interrupts {
	stop, cancelStop := context.WithCancel(cmd.Context())
	abort, cancelAbort := context.WithCancel(context.WithoutCancel(cmd.Context()))
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for n := 0; ; n++ {
			select {
			case <-done:
				return
			case <-sigs:
			}
			if n == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "\nInterrupt received: no new change starts; the writes in flight finish. Interrupt again to abort them.")
				cancelStop()
				continue
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "\nSecond interrupt: aborting the writes in flight.")
			cancelAbort()
			return
		}
	}()
	var once sync.Once
	return &interrupts{stop: stop, abort: abort, close: func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(done)
			cancelStop()
			cancelAbort()
		})
	}}
}

// gateAll runs the delete gate on every remote's plan and prints every
// refusal; any refusal stops the whole run before a single write.
func gateAll(w io.Writer, cfg *spec.Config, plans []*engine.Plan, o engine.GateOptions) error {
	refused := false
	for _, p := range plans {
		if err := engine.Gate(p, cfg.Remotes[p.Remote], cfg.Settings, o); err != nil {
			var ge *engine.GateError
			if !errors.As(err, &ge) {
				return err
			}
			fmt.Fprintf(w, "Error: %s on remote %q.\n  Would delete: %s\n  Nothing was written. To go ahead: %s.\n",
				ge.Reason, ge.Remote, strings.Join(ge.Deletes, ", "), ge.Hint)
			refused = true
		}
	}
	if refused {
		return exitError{1}
	}
	return nil
}

// writePlans is the second half of apply and destroy: show the plans, gate
// them, ask (unless --yes), apply them (remotes in parallel) and report.
// It returns exitError{1} when anything failed, was not done or was
// interrupted.
func writePlans(cmd *cobra.Command, in *interrupts, cfg *spec.Config, rps []remotePlan, wf *writeFlags, gate engine.GateOptions) error {
	out := cmd.OutOrStdout()
	color := colorFor(out)
	plans := plansOf(rps)
	if err := renderHuman(out, plans, color, wf.partial); err != nil {
		return err
	}
	if allEmpty(plans) {
		return nil
	}
	if err := gateAll(cmd.ErrOrStderr(), cfg, plans, gate); err != nil {
		return err
	}
	held, release, err := holdLeases(in.stop, writtenRemotes(rps), cfg.Settings, "lxnetd "+cmd.Name(), cmd.ErrOrStderr(), wf.early)
	if err != nil {
		return err
	}
	defer release()
	interrupted := in.stop
	in = &interrupts{stop: held, abort: in.abort, close: in.close} // a lost lease stops like an interrupt
	if !wf.yes {
		if !isTTY(cmd.InOrStdin()) {
			return fmt.Errorf("refusing to %s without confirmation: stdin is not a terminal (use --yes)", wf.command)
		}
		question := "Apply these changes?"
		if wf.command == "destroy" {
			question = "Destroy everything listed above?"
		}
		ok, err := confirm(cmd.InOrStdin(), out, question)
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintf(out, "%s cancelled.\n", strings.ToUpper(wf.command[:1])+wf.command[1:])
			return exitError{1}
		}
	}
	results := applyAll(in, rps, wf.parallelism, out, color)
	if err := render.Outcome(out, results, color); err != nil {
		return err
	}
	for _, r := range results {
		if len(r.Failed) > 0 || len(r.NotDone) > 0 {
			return exitError{1}
		}
	}
	if held.Err() != nil && interrupted.Err() == nil {
		return exitError{1} // the lease was lost (holdLeases said so) after every change had started
	}
	if in.stop.Err() != nil {
		fmt.Fprintln(cmd.ErrOrStderr(), "Interrupted: every change had started before the interrupt, and all finished.")
		return exitError{1}
	}
	return nil
}

// applyAll applies every remote's plan, remotes in parallel, printing each
// finished action as it happens.
func applyAll(in *interrupts, rps []remotePlan, parallelism int, out io.Writer, color bool) []*engine.Result {
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
		wg.Go(func() {
			res, _ := engine.Apply(in.stop, rp.remote, rp.plan, engine.ApplyOptions{Parallelism: parallelism, Progress: progress, Abort: in.abort})
			results[i] = res
		})
	}
	wg.Wait()
	return results
}
