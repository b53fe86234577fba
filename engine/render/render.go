// Package render turns engine plans and apply results into text for people
// (terraform-style, coloured only when asked) and JSON for machines. It only
// reads plans: nothing here decides what changes.
package render

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/lxnetd/lxnetd/engine"
)

// ANSI colours, used only when the caller says the output is a terminal.
const (
	reset  = "\x1b[0m"
	bold   = "\x1b[1m"
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	red    = "\x1b[31m"
	cyan   = "\x1b[36m"
	dim    = "\x1b[2m"
)

// painter colours text only when the output is a terminal, so colour
// decisions are made once per call, not at every string.
type painter bool

func (p painter) paint(color, s string) string {
	if !p {
		return s
	}
	return color + s + reset
}

// actionColor is the colour of an action's symbol: green create, yellow
// update, red delete, cyan replace.
func actionColor(a engine.Action) string {
	switch a {
	case engine.Create:
		return green
	case engine.Update:
		return yellow
	case engine.Delete:
		return red
	default:
		return cyan
	}
}

// Human writes the plans of every remote, grouped by remote, and the summary
// line over all of them.
func Human(w io.Writer, plans []*engine.Plan, color bool) error {
	pt := painter(color)
	var b strings.Builder
	var total engine.Summary
	changes := false
	for _, p := range plans {
		total = total.Add(p.Summary())
		if p.Empty() && len(p.Orphans) == 0 && len(p.Blockers) == 0 {
			fmt.Fprintf(&b, "%s no changes.\n\n", pt.paint(bold, fmt.Sprintf("Remote %q:", p.Remote)))
			continue
		}
		changes = changes || !p.Empty()
		fmt.Fprintf(&b, "%s\n", pt.paint(bold, fmt.Sprintf("Remote %q:", p.Remote)))
		for _, c := range p.Changes {
			writeChange(&b, c, pt)
		}
		for _, o := range p.Orphans {
			fmt.Fprintf(&b, "  %s %s %s\n", pt.paint(yellow, "!"), o,
				pt.paint(dim, "(orphaned: owned by lxnetd, no longer in the configuration, kept because delete_instances = false)"))
		}
		for _, bl := range p.Blockers {
			fmt.Fprintf(&b, "  %s %s\n", pt.paint(red, "!"), bl)
		}
		b.WriteString("\n")
	}
	if !changes {
		b.WriteString("No changes. LXD matches the configuration.\n")
	} else {
		b.WriteString(pt.paint(bold, total.Line()) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// hiddenTag reports bookkeeping tags that only repeat which keys and devices
// are listed anyway; they stay in the JSON form.
func hiddenTag(key string) bool {
	return key == "config."+engine.TagKeys || key == "config."+engine.TagDevices
}

// writeChange writes one change: symbol, address, sources, reason, then
// one line per key diff.
func writeChange(b *strings.Builder, c *engine.Change, pt painter) {
	head := fmt.Sprintf("  %s %s", pt.paint(actionColor(c.Action), fmt.Sprintf("%3s", c.Action.Symbol())), pt.paint(bold, c.Addr.String()))
	if len(c.Sources) > 0 && c.Sources[0] != c.Addr.String() {
		head += pt.paint(dim, " ("+strings.Join(c.Sources, ", ")+")")
	}
	b.WriteString(strings.TrimRight(head, " ") + "\n")
	if c.Reason != "" {
		fmt.Fprintf(b, "        %s\n", pt.paint(dim, "# "+c.Reason))
	}
	visible := 0
	for _, d := range c.Diffs {
		if !hiddenTag(d.Key) {
			visible++
		}
	}
	for _, d := range c.Diffs {
		// A change that only rewrites tags (e.g. after adoption) shows them,
		// so no change is printed without a reason.
		if hiddenTag(d.Key) && visible > 0 {
			continue
		}
		// Terraform's marker for a key that makes the change a replace.
		forces := ""
		if d.Forces {
			forces = " " + pt.paint(red, "# forces replacement")
		}
		switch {
		case d.Before == nil && d.After != nil:
			fmt.Fprintf(b, "      %s %s = %q%s\n", pt.paint(green, "+"), d.Key, *d.After, forces)
		case d.Before != nil && d.After == nil:
			fmt.Fprintf(b, "      %s %s = %q%s\n", pt.paint(red, "-"), d.Key, *d.Before, forces)
		case d.Before != nil && d.After != nil:
			fmt.Fprintf(b, "      %s %s: %q → %q%s\n", pt.paint(yellow, "~"), d.Key, *d.Before, *d.After, forces)
		}
	}
}

// Stats writes the LXD request counts of observing each remote (plan --stats).
func Stats(w io.Writer, plans []*engine.Plan) error {
	var total int64
	for _, p := range plans {
		total += p.Requests
		images := ""
		if p.ImagesListed {
			images = " + 1 image list"
		}
		if _, err := fmt.Fprintf(w, "remote %q: %d requests (3 bulk lists%s + %d forward lists), %d owned objects\n",
			p.Remote, p.Requests, images, p.ForwardNetworks, p.Owned); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "total: %d requests\n", total)
	return err
}

// Progress writes one line for a finished change of an apply.
func Progress(w io.Writer, r engine.ChangeResult, color bool) error {
	pt := painter(color)
	c := r.Change
	d := r.Duration.Round(time.Millisecond)
	if r.Err != nil {
		_, err := fmt.Fprintf(w, "%s %s: %s %s after %s: %v\n", pt.paint(red, "✗"), r.Remote, c.Addr, c.Action, d, r.Err)
		return err
	}
	_, err := fmt.Fprintf(w, "%s %s: %s %s (%s)\n", pt.paint(actionColor(c.Action), c.Action.Symbol()), r.Remote, c.Addr, past(c.Action), d)
	return err
}

// past is the participle an apply progress line reports ("created").
func past(a engine.Action) string {
	switch a {
	case engine.Create:
		return "created"
	case engine.Update:
		return "updated"
	case engine.Delete:
		return "deleted"
	case engine.Replace:
		return "replaced"
	}
	return "unchanged"
}

// Outcome summarizes applies: totals when all succeeded, and otherwise, per
// remote, what was done, what failed and what was not done.
func Outcome(w io.Writer, results []*engine.Result, color bool) error {
	pt := painter(color)
	var b strings.Builder
	done, failed, notDone := 0, 0, 0
	for _, r := range results {
		done += len(r.Done)
		failed += len(r.Failed)
		notDone += len(r.NotDone)
	}
	if failed == 0 && notDone == 0 {
		fmt.Fprintf(&b, "%s\n", pt.paint(bold+green, fmt.Sprintf("Apply complete: %d changes done.", done)))
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(&b, "%s\n", pt.paint(bold+red, fmt.Sprintf("Apply failed: %d done, %d failed, %d not done.", done, failed, notDone)))
	for _, r := range results {
		if len(r.Failed) == 0 && len(r.NotDone) == 0 {
			continue
		}
		fmt.Fprintf(&b, "Remote %q:\n", r.Remote)
		for _, cr := range r.Done {
			fmt.Fprintf(&b, "  done:     %s %s\n", cr.Change.Action, cr.Change.Addr)
		}
		for _, cr := range r.Failed {
			fmt.Fprintf(&b, "  failed:   %s %s: %v\n", cr.Change.Action, cr.Change.Addr, cr.Err)
		}
		for _, c := range r.NotDone {
			fmt.Fprintf(&b, "  not done: %s %s\n", c.Action, c.Addr)
		}
	}
	b.WriteString("Run apply again to complete the plan; lxnetd plans afresh from what LXD reports.\n")
	_, err := io.WriteString(w, b.String())
	return err
}
