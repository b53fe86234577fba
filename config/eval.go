package config

import (
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// instance is one object a block produces: the block itself, or one
// for_each key / count index of it.
type instance struct {
	d       *decl
	ord     int    // position among the block's instances
	key     string // for_each key or count index; "" for a single instance
	addr    string // `node.web["a"]`
	defName string // default LXD name: label, label-key or label-index
	ctx     *hcl.EvalContext
	// sensitiveProps are the device properties that derive from sensitive
	// values ("devices.NAME.PROPERTY"), found by evalDevices.
	sensitiveProps []string
}

func (i *instance) pos() spec.Pos { return posOf(i.d.block.DefRange) }

func posOf(r hcl.Range) spec.Pos {
	return spec.Pos{File: r.Filename, Line: r.Start.Line, Column: r.Start.Column}
}

// evaluate evaluates every declaration in dependency order. The evaluators
// return what they report (those of a block with the diagnostics of its
// nested blocks, see ev), and evaluate collects it.
func (l *loader) evaluate() {
	for _, d := range l.order() {
		if d.bad {
			continue
		}
		ctx := l.ctxFor(d)
		var v cty.Value
		var ok bool
		var diags hcl.Diagnostics
		switch d.kind {
		case kindLocal:
			v, ok, diags = l.evalLocal(d, ctx)
		case kindLxnet:
			ok, diags = l.evalLxnet(d, ctx)
		case kindRemote:
			v, ok, diags = l.evalRemote(d, ctx)
		default:
			v, ok = l.evalExpandable(d, ctx)
		}
		l.add(diags...)
		if ok {
			l.values[d.key] = v
			d.value = true
		}
	}
}

// ctxFor builds the evaluation context of a declaration from the values of
// exactly what it refers to (so building contexts stays linear in the size
// of the configuration). What failed to evaluate is unknown, which makes
// dependents fail quietly instead of repeating the same error.
func (l *loader) ctxFor(d *decl) *hcl.EvalContext {
	vars := map[string]cty.Value{"var": l.varObj}
	groups := map[string]map[string]cty.Value{}
	for _, k := range d.deps {
		t := l.byKey[k]
		v, ok := l.values[k]
		if !ok {
			v = cty.DynamicVal
		}
		if groups[t.kind] == nil {
			groups[t.kind] = map[string]cty.Value{}
		}
		groups[t.kind][t.name] = v
	}
	for kind, m := range groups {
		vars[kind] = cty.ObjectVal(m)
	}
	return &hcl.EvalContext{Variables: vars, Functions: l.funcs}
}

func (l *loader) evalLocal(d *decl, ctx *hcl.EvalContext) (cty.Value, bool, hcl.Diagnostics) {
	v, diags := d.attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return cty.NilVal, false, diags
	}
	return v, true, diags
}

func (l *loader) newEv(d *decl, ctx *hcl.EvalContext, attrs hcl.Attributes) *ev {
	return &ev{l: l, d: d, ctx: ctx, attrs: attrs, def: d.block.DefRange, diags: &hcl.Diagnostics{}}
}

// instEv evaluates the arguments of one instance of a block; nested blocks
// of it are evaluated by e.nested.
func (l *loader) instEv(inst *instance) *ev {
	return &ev{l: l, d: inst.d, ctx: inst.ctx, attrs: inst.d.content.Attributes, def: inst.d.block.DefRange, diags: &hcl.Diagnostics{}}
}

func (l *loader) evalLxnet(d *decl, ctx *hcl.EvalContext) (bool, hcl.Diagnostics) {
	e := l.newEv(d, ctx, d.content.Attributes)
	if owner, a := e.str("owner"); a != nil && !e.failed {
		if !ownerRE.MatchString(owner) {
			e.errorf(a.Expr.Range().Ptr(), "Invalid owner",
				"The owner is written to every owned object as user.lxnetd.owner; it must be 1 to 64 letters, digits, \"-\", \"_\" or \".\", starting with a letter or digit.")
		} else {
			l.settings.Owner = owner
		}
	}
	if s, a := e.str("resync_interval"); a != nil && !e.failed {
		dur, err := parseDuration(s)
		if err != nil {
			e.errorf(a.Expr.Range().Ptr(), "Invalid resync_interval", "%s. Write a duration such as \"5m\", \"90s\" or \"1h\".", err)
		} else {
			l.settings.ResyncInterval = dur
		}
	}
	if n, a := e.integer("max_deletes"); a != nil && !e.failed {
		if n < 0 {
			e.errorf(a.Expr.Range().Ptr(), "Invalid max_deletes", "max_deletes must be 0 or more (0 forbids the daemon any delete).")
		} else {
			l.settings.MaxDeletes = n
		}
	}
	if s, a := e.str("lease_ttl"); a != nil && !e.failed {
		dur, err := parseDuration(s)
		if err == nil && dur < minLeaseTTL {
			err = fmt.Errorf("%q is shorter than %s", s, minLeaseTTL)
		}
		if err != nil {
			e.errorf(a.Expr.Range().Ptr(), "Invalid lease_ttl", "%s. Write a duration of at least %s such as \"30s\" (the default) or \"1m\": how long the one-writer lease lasts without renewal.", err, minLeaseTTL)
		} else {
			l.settings.LeaseTTL = dur
		}
	}
	l.settings.DeleteInstances, _ = e.boolean("delete_instances")
	l.settings.AllowEmpty, _ = e.boolean("allow_empty")
	return !e.failed, *e.diags
}

// parseDuration parses resync_interval: a Go duration of at least a second.
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration", s)
	}
	if d < time.Second {
		return 0, fmt.Errorf("%q is shorter than one second", s)
	}
	return d, nil
}

// minLeaseTTL: the lease is renewed every third of it, and a renewal is one
// or two LXD requests.
const minLeaseTTL = 3 * time.Second

// blockEvaluators evaluate one instance of a block of each kind that can
// have for_each or count.
var blockEvaluators = map[string]func(*loader, *instance) (cty.Value, hcl.Diagnostics){
	kindNetwork: (*loader).evalNetwork,
	kindProfile: (*loader).evalProfile,
	kindNode:    (*loader).evalNode,
	kindService: (*loader).evalService,
	kindForward: (*loader).evalForward,
	kindACL:     (*loader).evalACL,
}

// evalExpandable evaluates a network/profile/node/service/forward/acl block:
// once, or once per for_each key or count index.
func (l *loader) evalExpandable(d *decl, ctx *hcl.EvalContext) (cty.Value, bool) {
	insts, mode, ok := l.expand(d, ctx)
	if !ok {
		return cty.NilVal, false
	}
	vals := make([]cty.Value, len(insts))
	for i, inst := range insts {
		v, diags := blockEvaluators[d.kind](l, inst)
		l.add(diags...)
		if v == cty.NilVal {
			v = cty.DynamicVal
		}
		vals[i] = v
	}
	switch mode {
	case "for_each":
		m := map[string]cty.Value{}
		for i, inst := range insts {
			m[inst.key] = vals[i]
		}
		return cty.ObjectVal(m), true
	case "count":
		return cty.TupleVal(vals), true
	}
	return vals[0], true
}

// repetition evaluates the count or for_each argument a of block d: a
// value known in full and not sensitive (invalid: the summary of the error
// for one that is, sensitive its detail), else false.
func (l *loader) repetition(d *decl, ctx *hcl.EvalContext, a *hcl.Attribute, invalid, sensitive string) (cty.Value, bool) {
	v, diags := a.Expr.Value(ctx)
	l.add(diags...)
	switch {
	case diags.HasErrors():
		return cty.NilVal, false
	case !v.IsWhollyKnown():
		l.add(l.notChecked(d, a.Expr.Range().Ptr())...)
		return cty.NilVal, false
	case v.ContainsMarked():
		l.errorf(a.Expr.Range().Ptr(), invalid, "%s", sensitive)
		return cty.NilVal, false
	}
	return v, true
}

// expand returns the instances of a block.
func (l *loader) expand(d *decl, ctx *hcl.EvalContext) ([]*instance, string, bool) {
	fe, hasForEach := d.content.Attributes["for_each"]
	cnt, hasCount := d.content.Attributes["count"]
	label := d.name
	if hasForEach && hasCount {
		l.errorf(cnt.NameRange.Ptr(), "Invalid combination of count and for_each",
			"The count and for_each arguments are mutually exclusive; use only one of them.")
		return nil, "", false
	}
	if hasCount {
		v, ok := l.repetition(d, ctx, cnt, "Invalid count argument", "count cannot be derived from a sensitive value.")
		if !ok {
			return nil, "", false
		}
		n, err := convert.Convert(v, cty.Number)
		if err != nil || n.IsNull() {
			l.errorf(cnt.Expr.Range().Ptr(), "Invalid count argument", "The count argument must be a whole number, like 3.")
			return nil, "", false
		}
		c, acc := n.AsBigFloat().Int64()
		if acc != big.Exact || c < 0 || c > 10000 {
			l.errorf(cnt.Expr.Range().Ptr(), "Invalid count argument", "The count argument must be a whole number from 0 to 10000.")
			return nil, "", false
		}
		insts := make([]*instance, c)
		for i := range insts {
			child := ctx.NewChild()
			child.Variables = map[string]cty.Value{"count": cty.ObjectVal(map[string]cty.Value{"index": cty.NumberIntVal(int64(i))})}
			insts[i] = &instance{d: d, ord: i, addr: fmt.Sprintf("%s[%d]", d.key, i), defName: fmt.Sprintf("%s-%d", label, i), ctx: child, key: fmt.Sprint(i)}
		}
		return insts, "count", true
	}
	if hasForEach {
		v, ok := l.repetition(d, ctx, fe, "Invalid for_each argument", "for_each cannot use a sensitive value: the keys become object names shown in plans.")
		if !ok {
			return nil, "", false
		}
		if v.IsNull() {
			l.errorf(fe.Expr.Range().Ptr(), "Invalid for_each argument", "The for_each argument must not be null; use {} for no instances.")
			return nil, "", false
		}
		ty := v.Type()
		type kv struct {
			k string
			v cty.Value
		}
		var items []kv
		switch {
		case ty.IsMapType() || ty.IsObjectType():
			for it := v.ElementIterator(); it.Next(); {
				k, ev := it.Element()
				items = append(items, kv{k.AsString(), ev})
			}
		case ty.IsSetType() && ty.ElementType() == cty.String:
			for it := v.ElementIterator(); it.Next(); {
				_, ev := it.Element()
				if ev.IsNull() {
					l.errorf(fe.Expr.Range().Ptr(), "Invalid for_each argument", "A set used in for_each must not contain null.")
					return nil, "", false
				}
				items = append(items, kv{ev.AsString(), ev})
			}
		default:
			l.errorf(fe.Expr.Range().Ptr(), "Invalid for_each argument",
				"The for_each argument must be a map, an object, or a set of strings; you gave a %s. Convert a list of strings with toset(...), or build a map with a for expression: { for n in var.nodes : n.name => n }.", ty.FriendlyName())
			return nil, "", false
		}
		sort.Slice(items, func(i, j int) bool { return items[i].k < items[j].k })
		insts := make([]*instance, len(items))
		for i, it := range items {
			child := ctx.NewChild()
			child.Variables = map[string]cty.Value{"each": cty.ObjectVal(map[string]cty.Value{
				"key": cty.StringVal(it.k), "value": it.v,
			})}
			insts[i] = &instance{d: d, ord: i, addr: fmt.Sprintf("%s[%q]", d.key, it.k), defName: label + "-" + it.k, ctx: child, key: it.k}
		}
		return insts, "for_each", true
	}
	return []*instance{{d: d, addr: d.key, defName: label, ctx: ctx}}, "", true
}

// remoteOf resolves a block's remote argument: remote.x, a remote name, or
// omitted when there is exactly one remote.
func (l *loader) remoteOf(e *ev, inst *instance) (string, *hcl.Range, bool) {
	v, a := e.getRef("remote")
	if a == nil {
		names := l.remoteNames()
		if len(names) == 1 {
			return names[0], inst.d.block.DefRange.Ptr(), true
		}
		e.errorf(inst.d.block.DefRange.Ptr(), "Missing remote",
			"There are %d remotes (%s), so each %s must say which one it belongs to, e.g. remote = remote.%s.", len(names), listAll(names), inst.d.kind, names[0])
		return "", nil, false
	}
	if v == cty.NilVal {
		if !e.bad["remote"] {
			e.errorf(a.Expr.Range().Ptr(), "Missing remote", "remote is null; set it to a remote, e.g. remote = remote.%s.", l.remoteNames()[0])
		}
		return "", nil, false
	}
	name, ok := nameOf(v)
	if !ok {
		e.typeError(a, "remote (remote.NAME or a remote name)")
		return "", nil, false
	}
	if !l.remoteDeclared(name) {
		hint := ""
		if s := suggest(name, l.remoteNames()); s != "" {
			hint = fmt.Sprintf(" Did you mean %q?", s)
		}
		e.errorf(a.Expr.Range().Ptr(), "Unknown remote",
			"There is no remote named %q; declared remotes: %s.%s", name, listAll(l.remoteNames()), hint)
		return "", nil, false
	}
	return name, a.Expr.Range().Ptr(), true
}

// nameOf accepts a name string or an object with a name attribute
// (remote.x, network.x, profile.x).
func nameOf(v cty.Value) (string, bool) {
	if !v.IsKnown() || v.IsNull() {
		return "", false
	}
	if v.Type() == cty.String {
		return v.AsString(), true
	}
	if v.Type().IsObjectType() && v.Type().HasAttribute("name") {
		n := v.GetAttr("name")
		if n.Type() == cty.String && n.IsKnown() && !n.IsNull() {
			return n.AsString(), true
		}
	}
	return "", false
}

func (l *loader) remoteNames() []string {
	if len(l.byKind[kindRemote]) == 0 {
		return []string{"local"}
	}
	names := make([]string, 0, len(l.byKind[kindRemote]))
	for _, d := range l.byKind[kindRemote] {
		names = append(names, d.name)
	}
	return names
}

func (l *loader) remoteDeclared(name string) bool {
	if len(l.byKind[kindRemote]) == 0 {
		return name == "local"
	}
	_, ok := l.byKey[kindRemote+"."+name]
	return ok
}

// objectName resolves a block's LXD name: its name argument or the default.
func (l *loader) objectName(e *ev, inst *instance, check func(string) string, what string) (string, *hcl.Range) {
	name, a := e.str("name")
	e.namesObject("name")
	rng := inst.d.block.LabelRanges[0].Ptr()
	if a == nil {
		name = inst.defName
	} else {
		rng = a.Expr.Range().Ptr()
	}
	if e.bad["name"] {
		return "", rng
	}
	if p := check(name); p != "" {
		detail := fmt.Sprintf("The %s name %q %s.", what, name, p)
		if a == nil {
			detail += fmt.Sprintf(" It comes from the block label%s; set name = \"...\" in the block to choose a valid one.", map[bool]string{true: " and key", false: ""}[inst.addr != inst.d.key])
		}
		e.errorf(rng, "Invalid "+what+" name", "%s", detail)
		e.failed = true
	}
	return name, rng
}

// config evaluates the config argument of a profile, node or ACL block
// and refuses the keys lxnetd reserves (checkReservedKeys).
func (l *loader) config(e *ev) (map[string]string, *hcl.Attribute) {
	cfg, a := e.strMap("config")
	if a != nil && !e.bad["config"] {
		l.checkReservedKeys(e, a, cfg)
	}
	return cfg, a
}

// checkReservedKeys refuses user.lxnetd.* keys: lxnetd writes them itself to
// record ownership.
func (l *loader) checkReservedKeys(e *ev, a *hcl.Attribute, m map[string]string) {
	for _, k := range sortedKeys(m) {
		if len(k) >= len("user.lxnetd.") && k[:len("user.lxnetd.")] == "user.lxnetd." {
			e.errorf(keyRange(a, e.ctx, k), "Reserved configuration key",
				"%q is reserved: lxnetd writes user.lxnetd.* keys itself to record what it owns. Remove it, or use another user.* key.", k)
			e.failed = true
		}
		if k == "" || strings.ContainsAny(k, ", \t\n") {
			// The keys lxnetd set are recorded comma-separated in
			// user.lxnetd.keys; such a key would not read back.
			e.errorf(keyRange(a, e.ctx, k), "Invalid configuration key",
				"%q is not a configuration key: LXD keys are non-empty words like \"limits.memory\" or \"user.role\", without commas or spaces.", k)
			e.failed = true
		}
	}
}

// meta fills the common fields of an object.
func (l *loader) meta(e *ev, inst *instance) spec.Meta {
	adopt, _ := e.boolean("adopt")
	return spec.Meta{Addr: inst.addr, Pos: inst.pos(), Adopt: adopt}
}

// choice reads a string attribute with a default and checks it is one of
// set (a network's or node's type, a node's state).
func (l *loader) choice(e *ev, name, def string, set []string, what string) string {
	v, _ := e.str(name)
	v = strOr(v, def)
	l.checkOneOf(e, name, v, set, what)
	return v
}

func (l *loader) checkOneOf(e *ev, name string, value string, set []string, what string) {
	if value == "" || oneOf(value, set) {
		return
	}
	hint := ""
	if s := suggest(value, set); s != "" {
		hint = fmt.Sprintf(" Did you mean %q?", s)
	}
	e.errorf(e.attrs[name].Expr.Range().Ptr(), "Unknown "+what,
		"%q is not a valid %s; use %s.%s", value, what, list(set), hint)
	e.failed = true
}

func strOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func mapVal(m map[string]string) cty.Value {
	if len(m) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	vals := make(map[string]cty.Value, len(m))
	for k, v := range m {
		vals[k] = cty.StringVal(v)
	}
	return cty.MapVal(vals)
}

func nullableStr(s string) cty.Value {
	if s == "" {
		return cty.NullVal(cty.String)
	}
	return cty.StringVal(s)
}
