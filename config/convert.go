package config

import (
	"fmt"
	"math/big"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// ev evaluates the arguments of one block instance and converts them to Go
// values, reporting type errors as diagnostics. failed is set when anything
// went wrong (an error was reported, or a value is unknown because something
// it depends on failed earlier, which is noted once by notChecked): the
// instance is then not part of the desired state. bad names the arguments
// that have no value at all; the caller goes on checking the others, and
// gives the block a value (see or) so that what refers to it is checked too.
type ev struct {
	l      *loader
	d      *decl // the declaration evaluated, for a "not checked" note
	ctx    *hcl.EvalContext
	attrs  hcl.Attributes
	def    hcl.Range // the block's DefRange, for missing-argument messages
	failed bool
	bad    map[string]bool       // arguments that could not be evaluated (not just failed a check)
	marks  map[string][]cty.Path // per argument, the parts derived from sensitive values (sensitive.go)
	// diags collects what the evaluation of one block instance reports,
	// shared with the evaluators of its nested blocks (nested); the block's
	// evaluator returns it and the loader collects it.
	diags *hcl.Diagnostics
}

// nested evaluates the arguments of a nested block of the same instance
// (def: its DefRange), reporting into the same diagnostics.
func (e *ev) nested(attrs hcl.Attributes, def hcl.Range) *ev {
	return &ev{l: e.l, d: e.d, ctx: e.ctx, attrs: attrs, def: def, diags: e.diags}
}

func (e *ev) add(diags ...*hcl.Diagnostic) { *e.diags = append(*e.diags, diags...) }

func (e *ev) errorf(subject *hcl.Range, summary, detailFormat string, args ...any) {
	e.add(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(detailFormat, args...), Subject: subject})
}

// markBad records that an argument has no usable value.
func (e *ev) markBad(name string) {
	if e.bad == nil {
		e.bad = map[string]bool{}
	}
	e.bad[name] = true
	e.failed = true
}

// or is v, or unknown when the argument v came from could not be
// evaluated: a block's value keeps what it could evaluate, so that blocks
// referring to it are still checked, and what it could not is unknown, so
// that they are not checked against a made-up value.
func (e *ev) or(name string, v cty.Value) cty.Value {
	if e.bad[name] {
		return cty.DynamicVal
	}
	return v
}

// get evaluates an argument. It returns cty.NilVal when the argument is
// absent, null, or could not be evaluated; attr is nil only when absent.
func (e *ev) get(name string) (cty.Value, *hcl.Attribute) {
	a := e.attrs[name]
	if a == nil {
		return cty.NilVal, nil
	}
	v, diags := a.Expr.Value(e.ctx)
	e.add(diags...)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		if !diags.HasErrors() {
			e.add(e.l.notChecked(e.d, a.Expr.Range().Ptr())...)
		}
		e.markBad(name)
		return cty.NilVal, a
	}
	v = e.unmark(name, v)
	if v.IsNull() {
		return cty.NilVal, a
	}
	return v, a
}

// getRef is get for an argument that refers to a whole block (remote.x,
// network.x) of which only the name and remote are used: it returns the
// value when those are known even if other attributes of the block are not
// (a remote whose address failed still has a name), so that the referring
// block is checked on it.
func (e *ev) getRef(name string) (cty.Value, *hcl.Attribute) {
	a := e.attrs[name]
	if a == nil {
		return cty.NilVal, nil
	}
	v, diags := a.Expr.Value(e.ctx)
	if diags.HasErrors() || v.IsWhollyKnown() || !v.IsKnown() || !v.Type().IsObjectType() {
		return e.get(name)
	}
	v = e.unmark(name, v)
	for _, attr := range []string{"name", "remote"} {
		if v.Type().HasAttribute(attr) && !v.GetAttr(attr).IsKnown() {
			return e.get(name)
		}
	}
	if _, ok := nameOf(v); !ok {
		return e.get(name)
	}
	return v, a
}

func (e *ev) typeError(a *hcl.Attribute, want string) {
	e.errorf(a.Expr.Range().Ptr(), "Incorrect attribute value type",
		"Inappropriate value for attribute %q: %s required.", a.Name, want)
	e.markBad(a.Name)
}

// str returns a string argument ("" when absent) and its attribute.
func (e *ev) str(name string) (string, *hcl.Attribute) {
	v, a := e.get(name)
	if v == cty.NilVal {
		return "", a
	}
	s, err := convertString(v)
	if err != nil {
		e.typeError(a, "string")
		return "", a
	}
	return s.AsString(), a
}

// portString accepts a port as a number or a string ("80", "80-90").
func (e *ev) portString(name string) (string, *hcl.Attribute) {
	return e.str(name)
}

func (e *ev) boolean(name string) (bool, *hcl.Attribute) {
	v, a := e.get(name)
	if v == cty.NilVal {
		return false, a
	}
	b, err := convert.Convert(v, cty.Bool)
	if err != nil {
		e.typeError(a, "bool")
		return false, a
	}
	return b.True(), a
}

func (e *ev) integer(name string) (int, *hcl.Attribute) {
	v, a := e.get(name)
	if v == cty.NilVal {
		return 0, a
	}
	n, err := convert.Convert(v, cty.Number)
	if err != nil {
		e.typeError(a, "number")
		return 0, a
	}
	i, acc := n.AsBigFloat().Int64()
	if acc != big.Exact || i > 1<<31 || i < -(1<<31) {
		e.errorf(a.Expr.Range().Ptr(), "Invalid number", "%s must be a whole number.", a.Name)
		e.markBad(a.Name)
		return 0, a
	}
	return int(i), a
}

// elements returns the elements of a list/tuple/set argument.
func (e *ev) elements(name string) ([]cty.Value, *hcl.Attribute) {
	v, a := e.get(name)
	if v == cty.NilVal {
		return nil, a
	}
	ty := v.Type()
	if !ty.IsListType() && !ty.IsTupleType() && !ty.IsSetType() {
		e.typeError(a, "list")
		return nil, a
	}
	var out []cty.Value
	for it := v.ElementIterator(); it.Next(); {
		_, el := it.Element()
		out = append(out, el)
	}
	return out, a
}

// strMap converts an LXD config or properties map: keys verbatim, values
// strings, numbers or bools rendered as LXD stores them ("true", "8080");
// null values leave the key out.
func (e *ev) strMap(name string) (map[string]string, *hcl.Attribute) {
	v, a := e.get(name)
	if v == cty.NilVal {
		return nil, a
	}
	ty := v.Type()
	if !ty.IsMapType() && !ty.IsObjectType() {
		e.typeError(a, "map of strings, numbers or bools")
		return nil, a
	}
	// HCL keeps the last of two equal keys in an object constructor without
	// a word; in an LXD map that is a copy-paste mistake that loses a value.
	keys, items := literalItems(a, e.ctx)
	first := map[string]hcl.Range{}
	for i, k := range keys {
		r := items[i].KeyExpr.Range()
		if prev, dup := first[k]; dup {
			e.errorf(&r, "Duplicate "+name+" key",
				"%q is already set in this map at %s; only one value would reach LXD. Remove one of them.", k, prev)
			e.failed = true
			continue
		}
		first[k] = r
	}
	out := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, el := it.Element()
		key := k.AsString()
		if el.IsNull() {
			continue
		}
		s, ok := lxdString(el)
		if !ok {
			e.errorf(keyRange(a, e.ctx, key), "Invalid "+name+" value",
				"The value of %q must be a string, number or bool, as LXD stores every %s value as a string; got %s. Use jsonencode() or yamlencode() to pass structured data.", key, name, el.Type().FriendlyName())
			e.markBad(name)
			continue
		}
		out[key] = s
	}
	return out, a
}

// lxdString renders a primitive value the way LXD stores it.
func lxdString(v cty.Value) (string, bool) {
	switch v.Type() {
	case cty.String:
		return v.AsString(), true
	case cty.Bool:
		if v.True() {
			return "true", true
		}
		return "false", true
	case cty.Number:
		return numberString(v.AsBigFloat()), true
	}
	return "", false
}

func numberString(f *big.Float) string {
	if f.IsInt() {
		return f.Text('f', 0)
	}
	return f.Text('f', -1)
}

func convertString(v cty.Value) (cty.Value, error) {
	if v.Type() == cty.Number {
		return cty.StringVal(numberString(v.AsBigFloat())), nil
	}
	return convert.Convert(v, cty.String)
}

// literalItems returns the items of a map argument written literally
// ({ "ipv4.address" = "..." }) with their keys evaluated, in source order;
// nil when the map is computed. Items whose key cannot be evaluated are left
// out (their error was reported when the map was evaluated).
func literalItems(a *hcl.Attribute, ctx *hcl.EvalContext) (keys []string, items []hclsyntax.ObjectConsItem) {
	oc, ok := a.Expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return nil, nil
	}
	for _, item := range oc.Items {
		kv, diags := item.KeyExpr.Value(ctx)
		if diags.HasErrors() || !kv.IsKnown() || kv.IsNull() {
			continue
		}
		if ks, err := convertString(kv); err == nil {
			keys = append(keys, ks.AsString())
			items = append(items, item)
		}
	}
	return keys, items
}

// keyRange narrows a diagnostic about one key of a map argument to that
// key's item (key = value) when the map was written literally; otherwise it
// is the whole expression.
func keyRange(a *hcl.Attribute, ctx *hcl.EvalContext, key string) *hcl.Range {
	keys, items := literalItems(a, ctx)
	for i, k := range keys {
		if k == key {
			r := hcl.RangeBetween(items[i].KeyExpr.Range(), items[i].ValueExpr.Range())
			return &r
		}
	}
	return a.Expr.Range().Ptr()
}

// valueRange is like keyRange but narrows to the value of the item.
func valueRange(a *hcl.Attribute, ctx *hcl.EvalContext, key string) *hcl.Range {
	keys, items := literalItems(a, ctx)
	for i, k := range keys {
		if k == key {
			return items[i].ValueExpr.Range().Ptr()
		}
	}
	return a.Expr.Range().Ptr()
}

// sortedKeys returns a map's keys in order, for deterministic diagnostics.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// quoted shows a user value in a message.
func quoted(s string) string { return fmt.Sprintf("%q", s) }
