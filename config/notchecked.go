package config

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
)

// An error in one block must not silently hide the errors of the blocks that
// refer to it. Blocks therefore evaluate to their value whenever it can be
// computed, even when one of their own checks failed (a network with a bad
// dns.mode still has a name), so that what refers to them is checked in
// the same run. Where a value cannot be computed, what refers to it sees an
// unknown value and cannot be checked further; notChecked then says so
// explicitly, naming the blocks (or variables) whose errors are the cause,
// instead of dropping the block without a word.

// notChecked is the warning that a value of declaration d (at rng)
// could not be evaluated, so that neither it nor what uses it was checked,
// because something it refers to failed. It is said once per place.
func (l *loader) notChecked(d *decl, rng *hcl.Range) hcl.Diagnostics {
	if l.noted == nil {
		l.noted = map[string]bool{}
	}
	if d == nil || l.noted[rng.String()] {
		return nil
	}
	l.noted[rng.String()] = true
	causes := l.failedCauses(d, map[string]bool{})
	because := "something it refers to could not be evaluated"
	switch len(causes) {
	case 0:
	case 1:
		because = fmt.Sprintf("it depends on %s, which has errors", causes[0])
	default:
		because = fmt.Sprintf("it depends on %s, which have errors", joinPlain(causes))
	}
	return hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: "Value not checked",
		Detail:  fmt.Sprintf("This value of %s could not be evaluated: %s (reported in this output). So it, and what %s does with it, was not checked; fix those errors and validate again.", d.key, because, d.key),
		Subject: rng}}
}

// failedCauses follows the references of d whose value is unknown down to
// the declarations and variables that failed themselves (those whose
// own references all evaluated), in order.
func (l *loader) failedCauses(d *decl, seen map[string]bool) []string {
	var out []string
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, name := range l.varRefs(d) {
		if v := l.vars[name]; v != nil && !v.value.IsWhollyKnown() {
			add("var." + name)
		}
	}
	for _, k := range d.deps {
		if v, ok := l.values[k]; ok && v.IsWhollyKnown() {
			continue
		}
		dep := l.byKey[k]
		if seen[k] || dep == nil {
			continue
		}
		if deeper := l.failedCauses(dep, seen); len(deeper) > 0 {
			out = append(out, deeper...)
			continue
		}
		add(k)
	}
	return out
}

// varRefs lists the variables d refers to, sorted.
func (l *loader) varRefs(d *decl) []string {
	set := map[string]bool{}
	for _, expr := range d.expressions() {
		for _, tr := range expr.Variables() {
			if tr.RootName() != "var" || len(tr) < 2 {
				continue
			}
			if a, ok := tr[1].(hcl.TraverseAttr); ok {
				set[a.Name] = true
			}
		}
	}
	return sortedKeys(set)
}

// joinPlain joins addresses for a message: a, b and c.
func joinPlain(items []string) string {
	items = append([]string(nil), items...)
	sort.Strings(items)
	if len(items) == 1 {
		return items[0]
	}
	out := ""
	for i, s := range items[:len(items)-1] {
		if i > 0 {
			out += ", "
		}
		out += s
	}
	return out + " and " + items[len(items)-1]
}
