package render

import (
	"fmt"
	"strings"

	"github.com/lxnetd/lxnetd/engine"
)

// Warning kinds, as the JSON form names them.
const (
	// WarnOrphan: an owned instance no longer in the configuration, kept
	// because delete_instances = false.
	WarnOrphan = "orphan"
	// WarnBlocked: a delete or replace the plan leaves out because something
	// that stays in place still uses the object.
	WarnBlocked = "blocked"
)

// Warning is something a plan leaves as it is although LXD then still
// differs from the configuration: the operator has to act on it. Like a
// Terraform diagnostic it has a one-line Summary and a Detail that says
// what to do. Another kind of warning is one more case in Warnings.
type Warning struct {
	Kind    string `json:"kind"`
	Address string `json:"address"`
	Summary string `json:"summary"`
	Detail  string `json:"detail"`
}

// Warnings lists what needs attention in one remote's plan: orphans, then
// blocked deletes and replaces, each in the plan's (sorted) order.
func Warnings(p *engine.Plan) []Warning {
	var out []Warning
	for _, o := range p.Orphans {
		out = append(out, orphanWarning(p, o))
	}
	for _, b := range p.Blockers {
		out = append(out, blockedWarning(b))
	}
	for i, w := range out {
		out[i] = Warning{Kind: w.Kind, Address: p.Secrets.String(w.Address), Summary: p.Secrets.String(w.Summary), Detail: p.Secrets.String(w.Detail)}
	}
	return out
}

func orphanWarning(p *engine.Plan, addr string) Warning {
	name := strings.TrimPrefix(addr, "node.")
	return Warning{
		Kind: WarnOrphan, Address: addr,
		Summary: fmt.Sprintf("%s is orphaned: kept because delete_instances = false", addr),
		Detail: fmt.Sprintf("Instance %q is owned by this configuration (owner %q) but no longer declared in it. "+
			"lxnetd deletes instances only with delete_instances = true, so it stays as it is. "+
			"To delete it, set `delete_instances = true` in the lxnet block and apply, "+
			"or delete it by hand (`%s delete --force %s`); "+
			"to keep managing it, declare it again.", name, p.Owner, clientTool(p), name),
	}
}

// blockedWarning turns one of the engine's blocker lines ("network.br0 is
// not deleted: still used by instance "c1", ...") into a warning: the line
// up to the colon is the summary, the users start the detail.
func blockedWarning(line string) Warning {
	head, users, ok := strings.Cut(line, ": still used by ")
	addr, _, _ := strings.Cut(head, " ")
	if !ok {
		// A replace the settings do not allow, an image not compared:
		// "ADDR is not replaced: why; what to do".
		if head, detail, ok := strings.Cut(line, ": "); ok {
			return Warning{Kind: WarnBlocked, Address: addr, Summary: head, Detail: detail}
		}
		return Warning{Kind: WarnBlocked, Address: addr, Summary: line,
			Detail: "lxnetd leaves the object in place; plan again once what the summary names is resolved."}
	}
	detail := fmt.Sprintf("Still used by %s. LXD refuses to delete a network or profile that is in use, "+
		"and lxnetd deletes only what it owns. ", users)
	if strings.HasSuffix(head, " is not replaced") {
		detail += "Replacing it means deleting it first: detach it from those users " +
			"(change their devices or profiles, or delete them) and apply again, " +
			"or undo the change that forces the replacement."
	} else {
		detail += "Detach it from those users (change their devices or profiles, or delete them) " +
			"and the next plan deletes it; or declare it again to keep it."
	}
	return Warning{Kind: WarnBlocked, Address: addr, Summary: head, Detail: detail}
}

// plural is "1 warning" or "N warnings".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// clientTool is the command-line client of the plan's server, for hints:
// incus for Incus, lxc otherwise.
func clientTool(p *engine.Plan) string {
	if p.Server.Kind == engine.ServerIncus {
		return "incus"
	}
	return "lxc"
}
