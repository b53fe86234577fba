package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// newDestroyCommand is lxnetd's terraform destroy: apply against an empty
// configuration, on purpose. It reads the configuration only for the owner,
// the remotes and the settings (and to resolve --target), so a directory
// that still declares everything destroys everything it declared, and
// objects the owner has that are no longer declared as well.
func newDestroyCommand() *cobra.Command {
	var (
		lf              loadFlags
		wf              writeFlags
		deleteInstances bool
	)
	cmd := &cobra.Command{
		Use:   "destroy [dir]",
		Short: "Delete everything the configuration's owner has on its remotes",
		Long: `destroy plans the removal of every object carrying the configuration's owner
tag (lxnet { owner }) on each remote the configuration declares, shows that
plan (every line a "- delete"), asks for confirmation on a terminal (unless
--yes; without a terminal it refuses without --yes), then deletes: forwards,
nodes, profiles, networks in that order, remotes in parallel. Each action is
reported with its duration, as apply does.

Objects without the owner tag (made by hand, or by another owner) are never
in a destroy plan, even when the configuration declares their name. A network
or profile still used by something destroy leaves in place (an instance
lxnetd does not manage) is not deleted and is reported before any write.

Instances follow delete_instances: without it, owned instances are listed as
kept, and the networks and profiles they use stay too. --delete-instances
deletes them for this run only (Terraform has no such switch because it has no
such setting; here it saves editing the lxnet block to tear down).

The delete gate runs first: max_deletes applies as to apply, and --max-deletes
N overrides it for one run; the allow_empty rule does not (emptying is what
destroy is for). --target limits destroy to the objects an address names:
node.x, profile.p, network.n, forward.NET/ADDR (its own address, also for
objects no longer in the configuration), the block that declares it, a service
or forward block (the forwards holding its ports), remote.z. A node's services
never select the node, and destroy never deletes a network or profile whose
users it leaves in place.

Exit status as apply: 0 when everything planned was deleted (or there was
nothing to delete), 1 on a refusal, a failure or an interrupt.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := newInterrupts(cmd)
			defer in.close()
			cfg, err := load(cmd, configDirArg(args), &lf)
			if err != nil {
				return err
			}
			if deleteInstances {
				cfg.Settings.DeleteInstances = true
			}
			// Everything is read: what a targeted delete leaves behind may be of any kind.
			rps, err := planAll(in.stop, cfg, nil, func(o *engine.Observation, desired *spec.Remote) (*engine.Plan, error) {
				return o.DestroyPlan(desired, cfg.Settings, engine.PlanOptions{Targets: lf.targets})
			})
			if err != nil {
				return err
			}
			defer closeAll(rps)
			out := cmd.OutOrStdout()
			plans := plansOf(rps)
			destroyHeader(out, cfg, plans, lf.targets)
			if allEmpty(plans) {
				nothingToDestroy(out, plans)
				return nil
			}
			// The header said which instances are kept and how to delete
			// them; the plan's orphan lines would say they left the
			// configuration, which is apply's case, not destroy's.
			for _, p := range plans {
				p.Orphans = nil
			}
			gate := wf.gateOptions(cmd)
			gate.Destroy = true
			return writePlans(cmd, in, cfg, rps, &wf, gate)
		},
	}
	lf.register(cmd)
	wf.register(cmd)
	// destroy skips the allow_empty rule, so the flag would mean nothing.
	_ = cmd.Flags().MarkHidden("allow-empty")
	cmd.Flags().BoolVar(&deleteInstances, "delete-instances", false,
		"for this run only, delete the owner's instances too (as lxnet { delete_instances = true })")
	return cmd
}

// destroyHeader says what the plan below is, and what it keeps on purpose:
// the owned instances delete_instances keeps, and how to delete them too.
func destroyHeader(w io.Writer, cfg *spec.Config, plans []*engine.Plan, targets []string) {
	owner := spec.DefaultOwner
	remotes := make([]string, len(plans))
	var kept []string
	for i, p := range plans {
		owner = p.Owner
		remotes[i] = fmt.Sprintf("%q", p.Remote)
		kept = append(kept, p.Orphans...)
	}
	what := "every object"
	if len(targets) > 0 {
		what = "the objects selected by --target " + strings.Join(targets, ", ") + " that"
	}
	fmt.Fprintf(w, "Destroy: deleting %s owner %q has on remote %s. Objects without this owner's tag are never touched.\n",
		what, owner, strings.Join(remotes, ", "))
	if len(kept) > 0 && !cfg.Settings.DeleteInstances {
		fmt.Fprintf(w, "Kept: %d owned instance(s), because delete_instances is false: %s. The networks and profiles they use are kept too.\n"+
			"      To destroy them as well: lxnetd destroy --delete-instances (or delete_instances = true in the lxnet block).\n",
			len(kept), strings.Join(kept, ", "))
	}
	fmt.Fprintln(w)
}

// nothingToDestroy reports a destroy plan without a single delete, with
// what is kept and why (a plan that keeps something is not "nothing left").
func nothingToDestroy(w io.Writer, plans []*engine.Plan) {
	left := false
	for _, p := range plans {
		for _, b := range p.Blockers {
			fmt.Fprintf(w, "Remote %q: ! %s\n", p.Remote, b)
			left = true
		}
		left = left || len(p.Orphans) > 0
	}
	if left {
		fmt.Fprintln(w, "Nothing to destroy that can be deleted now; the objects above are kept.")
		return
	}
	fmt.Fprintln(w, "Nothing to destroy: the owner has no objects on these remotes.")
}
