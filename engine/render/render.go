// Package render turns engine plans and apply results into text for people
// (terraform-style, coloured only when asked) and JSON for machines. It only
// reads plans: nothing here decides what changes.
package render

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mitchellh/go-wordwrap"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/internal/redact"
)

// What a value derived from a sensitive variable prints as, in a created or
// removed key and in a changed one.
const (
	Sensitive        = redact.Marker
	SensitiveChanged = "(sensitive value changed)"
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

// Human writes the plans of every remote, grouped by remote: each remote's
// changes, then its warnings (orphans, blocked deletes) in Terraform's
// "Warning:" style, then the summary line over all of them. A plan with
// warnings never claims that LXD matches the configuration, even when it
// changes nothing.
func Human(w io.Writer, plans []*engine.Plan, color bool) error {
	pt := painter(color)
	var b strings.Builder
	var total engine.Summary
	changes, n := false, 0
	for _, p := range plans {
		total = total.Add(p.Summary())
		warnings := Warnings(p)
		n += len(warnings)
		head := pt.paint(bold, remoteHeading(p)+":")
		switch {
		case p.Empty() && len(warnings) == 0:
			fmt.Fprintf(&b, "%s no changes.\n\n", head)
			continue
		case p.Empty():
			fmt.Fprintf(&b, "%s no changes, %s.\n", head, plural(len(warnings), "warning"))
		default:
			fmt.Fprintf(&b, "%s\n", head)
		}
		changes = changes || !p.Empty()
		for _, c := range p.Changes {
			writeChange(&b, c, pt, p.Secrets)
		}
		for _, wn := range warnings {
			writeWarning(&b, wn, pt)
		}
		b.WriteString("\n")
	}
	switch {
	case !changes && n == 0:
		b.WriteString("No changes. LXD matches the configuration.\n")
	case !changes:
		fmt.Fprintf(&b, "%s\n", pt.paint(bold, fmt.Sprintf("No changes to apply, but %s: LXD does not fully match the configuration.", needAttention(n))))
	default:
		b.WriteString(pt.paint(bold, summaryLine(total)) + "\n")
		if n > 0 {
			fmt.Fprintf(&b, "%s\n", pt.paint(bold, fmt.Sprintf("%s (see above).", needAttention(n))))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// needAttention is "1 warning needs attention" or "N warnings need attention".
func needAttention(n int) string {
	if n == 1 {
		return "1 warning needs attention"
	}
	return plural(n, "warning") + " need attention"
}

// writeWarning writes one warning after the remote's changes: a blank line,
// the "Warning:" heading with the summary, and the detail wrapped and
// indented below it.
func writeWarning(b *strings.Builder, wn Warning, pt painter) {
	fmt.Fprintf(b, "\n  %s %s\n", pt.paint(bold+yellow, "Warning:"), pt.paint(bold, wn.Summary))
	for _, line := range strings.Split(wordwrap.WrapString(wn.Detail, 76), "\n") {
		fmt.Fprintf(b, "    %s\n", line)
	}
}

// hiddenTag reports bookkeeping tags that only repeat which keys and devices
// are listed anyway; they stay in the JSON form.
func hiddenTag(key string) bool {
	return key == "config."+engine.TagKeys || key == "config."+engine.TagDevices
}

// writeChange writes one change: symbol, address, sources, reason, then
// one line per key diff. Sensitive values print as "(sensitive)"; every
// other text is scrubbed of the plan's secrets before it is coloured (so a
// short secret can never match inside a colour code).
func writeChange(b *strings.Builder, c *engine.Change, pt painter, sc *redact.Scrubber) {
	addr := sc.String(c.Addr.String())
	head := fmt.Sprintf("  %s %s", pt.paint(actionColor(c.Action), fmt.Sprintf("%3s", c.Action.Symbol())), pt.paint(bold, addr))
	if len(c.Sources) > 0 && c.Sources[0] != c.Addr.String() {
		head += pt.paint(dim, sc.String(" ("+strings.Join(c.Sources, ", ")+")"))
	}
	b.WriteString(strings.TrimRight(head, " ") + "\n")
	if c.Reason != "" {
		fmt.Fprintf(b, "        %s\n", pt.paint(dim, sc.String("# "+c.Reason)))
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
		key := sc.String(d.Key)
		switch {
		case d.Sensitive && d.Before != nil && d.After != nil:
			// Terraform's way: the change shows, its values do not.
			fmt.Fprintf(b, "      %s %s = %s%s\n", pt.paint(yellow, "~"), key, SensitiveChanged, forces)
		case d.Sensitive && (d.Before != nil || d.After != nil):
			sym, color := "+", green
			if d.After == nil {
				sym, color = "-", red
			}
			fmt.Fprintf(b, "      %s %s = %s%s\n", pt.paint(color, sym), key, Sensitive, forces)
		case d.Before == nil && d.After != nil:
			fmt.Fprintf(b, "      %s %s = %q%s\n", pt.paint(green, "+"), key, sc.String(*d.After), forces)
		case d.Before != nil && d.After == nil:
			fmt.Fprintf(b, "      %s %s = %q%s\n", pt.paint(red, "-"), key, sc.String(*d.Before), forces)
		case d.Before != nil && d.After != nil:
			fmt.Fprintf(b, "      %s %s: %q → %q%s\n", pt.paint(yellow, "~"), key, sc.String(*d.Before), sc.String(*d.After), forces)
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
		if _, err := fmt.Fprintf(w, "remote %q: %d requests (%d forward lists%s), %d owned objects\n",
			p.Remote, p.Requests, p.ForwardNetworks, images, p.Owned); err != nil {
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
	heading := "Apply failed"
	if failed == 0 {
		heading = "Apply interrupted"
	}
	fmt.Fprintf(&b, "%s\n", pt.paint(bold+red, fmt.Sprintf("%s: %d done, %d failed, %d not done.", heading, done, failed, notDone)))
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
			fmt.Fprintf(&b, "  not done: %s %s: %s\n", c.Action, c.Addr, c.Reason)
		}
	}
	b.WriteString("Run apply again to complete the plan; lxnetd plans afresh from what LXD reports.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// summaryLine is the terraform-style summary; a replace counts as one create
// and one delete.
func summaryLine(s engine.Summary) string {
	return fmt.Sprintf("Plan: %d to create, %d to update, %d to delete.", s.Create+s.Replace, s.Update, s.Delete+s.Replace)
}

// remoteHeading names a plan's remote and, when known, its server kind and
// version: `Remote "vm1" (Incus 6.0.4)`.
func remoteHeading(p *engine.Plan) string {
	h := fmt.Sprintf("Remote %q", p.Remote)
	if s := p.Server.String(); s != "" {
		h += " (" + s + ")"
	}
	return h
}
