package config

import (
	"maps"
	"slices"

	"github.com/zclconf/go-cty/cty"
)

// Sensitive values leave the configuration in two forms, as in Terraform:
// marks, naming which fields of an object derive from a sensitive variable
// (spec.Meta.Sensitive, spec.ForwardPort.Sensitive), so that plans show
// "(sensitive)" in their place; and the set of secret strings
// (spec.Config.Secrets), so that text lxnetd does not build itself — LXD's
// error messages echo the values they refuse — can be scrubbed.

// unmark removes the marks of argument name's value, remembering which parts
// were marked (see sensitive, sensitiveKeys) and their strings as secrets.
func (e *ev) unmark(name string, v cty.Value) cty.Value {
	if !v.ContainsMarked() {
		return v
	}
	_, paths := v.UnmarkDeepWithPaths()
	if e.marks == nil {
		e.marks = map[string][]cty.Path{}
	}
	for _, pm := range paths {
		e.marks[name] = append(e.marks[name], pm.Path)
	}
	return e.l.unmark(v)
}

// sensitive reports whether any part of argument name derives from a
// sensitive variable.
func (e *ev) sensitive(name string) bool { return len(e.marks[name]) > 0 }

// sensitiveKeys returns the keys of map argument name (config, properties)
// whose values derive from a sensitive variable: all of m's keys when the
// whole map does.
func (e *ev) sensitiveKeys(name string, m map[string]string) []string {
	keys := map[string]bool{}
	for _, p := range e.marks[name] {
		if len(p) == 0 {
			return slices.Sorted(maps.Keys(m))
		}
		var k string
		switch s := p[0].(type) {
		case cty.IndexStep:
			if s.Key.Type() == cty.String && s.Key.IsKnown() && !s.Key.IsNull() {
				k = s.Key.AsString()
			}
		case cty.GetAttrStep:
			k = s.Name
		}
		if _, ok := m[k]; ok {
			keys[k] = true
		}
	}
	return slices.Sorted(maps.Keys(keys))
}

// remark gives a block's value for argument name (network.x.description,
// network.x.config) back the marks the argument had, so that what refers to
// it is sensitive too.
func (e *ev) remark(name string, v cty.Value) cty.Value {
	if !e.sensitive(name) || !v.IsKnown() || v.IsNull() {
		return v
	}
	if !v.Type().IsMapType() || v.LengthInt() == 0 {
		return v.Mark(sensitive)
	}
	m := v.AsValueMap()
	ks := make(map[string]string, len(m))
	for k := range m {
		ks[k] = ""
	}
	for _, k := range e.sensitiveKeys(name, ks) {
		m[k] = m[k].Mark(sensitive)
	}
	return cty.MapVal(m)
}

// namesObject refuses argument name (already evaluated) when it derives
// from a sensitive value: it names an object — in plan addresses, apply's
// progress, logs, LXD's own lists — where no mark can hide it. Like
// for_each, which refuses sensitive values for the same reason.
func (e *ev) namesObject(name string) bool {
	if !e.sensitive(name) {
		return false
	}
	e.errorf(e.attrs[name].Expr.Range().Ptr(), "Sensitive value in a name",
		"%s cannot be derived from a sensitive variable: it names the object in plans, logs and LXD's own lists, where it cannot be hidden. Use a value that is not secret.", name)
	e.markBad(name)
	return true
}

// sensitiveFields names the fields of an object that derive from a
// sensitive variable, as spec.Meta.Sensitive does: its description, its
// config values, and the device properties evalDevices found (inst).
func sensitiveFields(e *ev, inst *instance, cfg map[string]string) map[string]bool {
	var out map[string]bool
	add := func(k string) {
		if out == nil {
			out = map[string]bool{}
		}
		out[k] = true
	}
	for _, k := range []string{"description", "image", "type", "state", "target", "profiles"} {
		if e.sensitive(k) {
			add(k)
		}
	}
	for _, k := range e.sensitiveKeys("config", cfg) {
		add("config." + k)
	}
	if inst != nil {
		for _, k := range inst.sensitiveProps {
			add(k)
		}
	}
	return out
}

// secretList is the configuration's secret strings, sorted.
func (l *loader) secretList() []string {
	return slices.Sorted(maps.Keys(l.secrets))
}
