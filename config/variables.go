package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// sensitive marks values of variables declared sensitive = true. Marks
// travel through expressions, so anything computed from a secret is known
// to be secret too.
type sensitiveMark struct{}

var sensitive = sensitiveMark{}

// varDecl is a variable block.
type varDecl struct {
	name        string
	block       *hcl.Block
	typ         cty.Type
	defaults    *typeexpr.Defaults
	def         cty.Value // cty.NilVal when there is no default
	sensitive   bool
	nullable    bool
	validations []*hcl.Block // each with content in validationContent
	valContent  map[*hcl.Block]*hcl.BodyContent

	// the value and where it came from
	value    cty.Value
	valRange *hcl.Range // nil for command line / environment values
	valFrom  string     // "a *.vars.hcl file", "--var", ...
}

// declareVariable records a variable block (called from declare).
func (l *loader) declareVariable(block *hcl.Block) {
	name := block.Labels[0]
	if !hclsyntax.ValidIdentifier(name) {
		l.errorf(&block.LabelRanges[0], "Invalid variable name",
			"A variable name must start with a letter or underscore and may contain only letters, digits, underscores and dashes.")
		return
	}
	if prev, ok := l.vars[name]; ok {
		l.errorf(&block.DefRange, "Duplicate variable declaration",
			"A variable named %q was already declared at %s. Variable names must be unique across all files; remove or rename one.", name, prev.block.DefRange)
		return
	}
	content, diags := block.Body.Content(variableSchema)
	l.add(diags...)
	v := &varDecl{name: name, block: block, typ: cty.DynamicPseudoType, def: cty.NilVal, nullable: true, valContent: map[*hcl.Block]*hcl.BodyContent{}}
	l.vars[name] = v
	l.varOrder = append(l.varOrder, v)

	if attr, ok := content.Attributes["type"]; ok {
		ty, defaults, diags := typeexpr.TypeConstraintWithDefaults(attr.Expr)
		l.add(diags...)
		if !diags.HasErrors() {
			v.typ, v.defaults = ty, defaults
		}
	}
	if attr, ok := content.Attributes["sensitive"]; ok {
		v.sensitive = l.literalBool(attr)
	}
	if attr, ok := content.Attributes["nullable"]; ok {
		v.nullable = l.literalBool(attr)
	}
	if attr, ok := content.Attributes["description"]; ok {
		val, diags := attr.Expr.Value(nil)
		l.add(diags...)
		if !diags.HasErrors() && (val.Type() != cty.String || val.IsNull()) {
			l.errorf(attr.Expr.Range().Ptr(), "Invalid variable description", "The description must be a string literal.")
		}
	}
	if attr, ok := content.Attributes["default"]; ok {
		val, diags := attr.Expr.Value(nil)
		l.add(diags...)
		if !diags.HasErrors() {
			if v.defaults != nil {
				val = v.defaults.Apply(val)
			}
			conv, err := convert.Convert(val, v.typ)
			if err != nil {
				l.errorf(attr.Expr.Range().Ptr(), "Invalid default value for variable",
					"This default value is not compatible with the variable's type constraint: %s.", pathErr(err))
			} else {
				v.def = conv
			}
		}
	}
	for _, vb := range content.Blocks {
		vc, diags := vb.Body.Content(validationSchema)
		l.add(diags...)
		if diags.HasErrors() {
			continue
		}
		v.validations = append(v.validations, vb)
		v.valContent[vb] = vc
		// A validation rule may refer only to the variable it checks.
		for _, attr := range vc.Attributes {
			for _, tr := range attr.Expr.Variables() {
				if tr.RootName() == "var" && len(tr) > 1 {
					if a, ok := tr[1].(hcl.TraverseAttr); ok && a.Name == name {
						continue
					}
				}
				l.errorf(tr.SourceRange().Ptr(), "Invalid reference in variable validation",
					"The condition of variable %q can refer only to var.%s itself; move checks that involve other values elsewhere.", name, name)
			}
		}
	}
}

// literalBool evaluates a constant boolean argument such as sensitive = true.
func (l *loader) literalBool(attr *hcl.Attribute) bool {
	val, diags := attr.Expr.Value(nil)
	l.add(diags...)
	if diags.HasErrors() {
		return false
	}
	val, err := convert.Convert(val, cty.Bool)
	if err != nil || val.IsNull() {
		l.errorf(attr.Expr.Range().Ptr(), "Invalid value for "+attr.Name, "%s must be true or false.", attr.Name)
		return false
	}
	return val.True()
}

// loadVariables gives every declared variable its value: default <
// LXNET_VAR_ environment < *.vars.hcl files < --var-file < --var, then
// checks types and validation rules and builds the var object.
func (l *loader) loadVariables(varBodies []*hclsyntax.Body) {
	for _, v := range l.varOrder {
		v.value = v.def
	}
	// Environment: undeclared names are ignored (the environment is shared).
	var env []string
	for _, kv := range l.opts.Environ {
		if strings.HasPrefix(kv, EnvPrefix) {
			env = append(env, kv)
		}
	}
	sort.Strings(env)
	for _, kv := range env {
		name, raw, _ := strings.Cut(strings.TrimPrefix(kv, EnvPrefix), "=")
		if v, ok := l.vars[name]; ok {
			l.assignRaw(v, raw, "the environment variable "+EnvPrefix+name)
		}
	}
	for _, body := range varBodies {
		l.assignFromBody(body)
	}
	for _, path := range l.opts.VarFiles {
		src, ok := l.readChecked(path, func() ([]byte, bool, error) { return readFileLimited(path) }, "Cannot read variables file", " Check the --var-file path.")
		if !ok {
			continue
		}
		if _, dup := l.sources[path]; dup {
			path = "--var-file " + path
		}
		if body := l.parse(path, src); body != nil {
			l.assignFromBody(body)
		}
	}
	names := make([]string, 0, len(l.opts.Vars))
	for name := range l.opts.Vars {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v, ok := l.vars[name]
		if !ok {
			l.errorf(nil, "Value for undeclared variable",
				"A variable named %q was assigned with --var, but the configuration declares no variable of that name. Add a variable %q block, or fix the name.%s", name, name, l.suggestVar(name))
			continue
		}
		l.assignRaw(v, l.opts.Vars[name], "--var "+name)
	}

	attrs := map[string]cty.Value{}
	for _, v := range l.varOrder {
		l.finishVariable(v)
		attrs[v.name] = v.value
	}
	l.varObj = cty.ObjectVal(attrs)
}

func (l *loader) suggestVar(name string) string {
	var names []string
	for n := range l.vars {
		names = append(names, n)
	}
	if s := suggest(name, names); s != "" {
		return fmt.Sprintf(" Did you mean %q?", s)
	}
	return ""
}

// assignFromBody assigns the attributes of a *.vars.hcl or --var-file body.
func (l *loader) assignFromBody(body *hclsyntax.Body) {
	attrs, diags := body.JustAttributes()
	if diags.HasErrors() {
		for _, d := range diags {
			d.Detail = "A variables file (*.vars.hcl or --var-file) may only assign variables, like name = \"value\"; put blocks in other *.hcl files."
		}
	}
	l.add(diags...)
	list := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		list = append(list, a)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Range.Start.Byte < list[j].Range.Start.Byte })
	for _, attr := range list {
		v, ok := l.vars[attr.Name]
		if !ok {
			l.errorf(attr.NameRange.Ptr(), "Value for undeclared variable",
				"The configuration declares no variable named %q. Add a variable %q block, or remove this assignment.%s", attr.Name, attr.Name, l.suggestVar(attr.Name))
			continue
		}
		val, diags := attr.Expr.Value(nil)
		if diags.HasErrors() {
			for _, d := range diags {
				if d.Summary == "Variables not allowed" || d.Summary == "Function calls not allowed" {
					d.Detail = "Values in variables files must be literal values: strings, numbers, bools, lists and objects of them."
				}
			}
			l.add(diags...)
			continue
		}
		v.value, v.valRange, v.valFrom = val, attr.Expr.Range().Ptr(), "this file"
		if v.sensitive {
			v.valRange = nil
		}
	}
}

// assignRaw assigns a value given as text (command line or environment):
// strings literally, anything else parsed as an HCL expression.
func (l *loader) assignRaw(v *varDecl, raw, from string) {
	if v.typ == cty.String || (v.typ == cty.DynamicPseudoType) {
		v.value, v.valRange, v.valFrom = cty.StringVal(raw), nil, from
		return
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), "<value for var."+v.name+">", hcl.InitialPos)
	if diags.HasErrors() {
		l.errorf(v.block.DefRange.Ptr(), "Invalid value for variable",
			"The value given by %s for variable %q is not a valid expression of its type %s. Give it in HCL syntax, e.g. [\"a\", \"b\"] or {name = \"x\"}.", from, v.name, typeexpr.TypeString(v.typ))
		v.value = cty.DynamicVal
		return
	}
	val, diags := expr.Value(nil)
	if diags.HasErrors() {
		if _, word := expr.(*hclsyntax.ScopeTraversalExpr); word {
			// A bare word such as "yes" or "abc" parses as a reference.
			shown := fmt.Sprintf("%q ", raw)
			if v.sensitive {
				shown = ""
			}
			l.errorf(v.block.DefRange.Ptr(), "Invalid value for variable",
				"The value %sgiven by %s for variable %q is not a %s; write it in HCL syntax, e.g. %s.", shown, from, v.name, typeexpr.TypeString(v.typ), exampleOf(v.typ))
			v.value = cty.DynamicVal
			return
		}
		l.errorf(v.block.DefRange.Ptr(), "Invalid value for variable",
			"The value given by %s for variable %q must be a literal value (no references or function calls).", from, v.name)
		v.value = cty.DynamicVal
		return
	}
	v.value, v.valRange, v.valFrom = val, nil, from
}

// exampleOf is a literal of type ty for hints.
func exampleOf(ty cty.Type) string {
	switch {
	case ty == cty.Number:
		return "8080"
	case ty == cty.Bool:
		return "true or false"
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType():
		return `["a", "b"]`
	}
	return `{name = "x"}`
}

// finishVariable converts a variable's value to its type, applies defaults,
// marks it sensitive and runs its validation rules.
func (l *loader) finishVariable(v *varDecl) {
	subject := v.block.DefRange.Ptr()
	if v.valRange != nil {
		subject = v.valRange
	}
	if v.value == cty.NilVal {
		l.errorf(v.block.DefRange.Ptr(), "No value for required variable",
			"The variable %q has no default, so it needs a value: assign it in a *.vars.hcl file, with --var %s=..., --var-file, or the %s%s environment variable — or give it a default.", v.name, v.name, EnvPrefix, v.name)
		v.value = cty.DynamicVal
		return
	}
	if v.value == cty.DynamicVal {
		return
	}
	val := v.value
	if v.defaults != nil {
		val = v.defaults.Apply(val)
	}
	conv, err := convert.Convert(val, v.typ)
	if err != nil {
		from := ""
		if v.valFrom != "" && v.valFrom != "this file" {
			from = " given by " + v.valFrom
		}
		l.errorf(subject, "Invalid value for variable",
			"The value%s is not compatible with the type constraint of variable %q (%s): %s.", from, v.name, typeexpr.TypeString(v.typ), pathErr(err))
		v.value = cty.DynamicVal
		return
	}
	if conv.IsNull() && !v.nullable {
		l.errorf(subject, "Invalid value for variable", "The variable %q is declared nullable = false, so it needs a non-null value.", v.name)
		v.value = cty.DynamicVal
		return
	}
	if b, err := ctyjson.Marshal(conv, conv.Type()); err == nil {
		fmt.Fprintf(l.hash, "var %q %s\n", v.name, b)
	}
	if v.sensitive {
		l.collectSecrets(conv)
		conv = conv.Mark(sensitive)
	}
	v.value = conv

	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{v.name: conv})},
		Functions: l.funcs,
	}
	for _, vb := range v.validations {
		vc := v.valContent[vb]
		cond, diags := vc.Attributes["condition"].Expr.Value(ctx)
		l.add(diags...)
		if diags.HasErrors() {
			continue
		}
		cond, _ = cond.Unmark()
		cond, err := convert.Convert(cond, cty.Bool)
		if err != nil || cond.IsNull() || !cond.IsKnown() {
			l.errorf(vc.Attributes["condition"].Expr.Range().Ptr(), "Invalid validation condition",
				"The condition must evaluate to true or false.")
			continue
		}
		if cond.True() {
			continue
		}
		msg := "The value does not satisfy the validation rule."
		mv, diags := vc.Attributes["error_message"].Expr.Value(ctx)
		if !diags.HasErrors() {
			if mv.IsMarked() {
				msg = "(The error message refers to a sensitive value and is not shown.)"
			} else if s, err := convert.Convert(mv, cty.String); err == nil && !s.IsNull() && s.IsKnown() {
				msg = s.AsString()
			}
		}
		l.errorf(subject, "Invalid value for variable",
			"%s\n\nThis was checked by the validation rule at %s.", msg, vc.Attributes["condition"].Expr.Range())
	}
}

// collectSecrets records every string inside a sensitive value so that no
// diagnostic can print it, whatever path it took.
func (l *loader) collectSecrets(v cty.Value) {
	v, _ = v.UnmarkDeep()
	if v.IsNull() || !v.IsKnown() {
		return
	}
	switch {
	case v.Type() == cty.String:
		if s := v.AsString(); s != "" {
			l.secrets[s] = true
		}
	case v.Type() == cty.Number:
		l.secrets[v.AsBigFloat().Text('f', -1)] = true
	case v.CanIterateElements():
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			l.collectSecrets(e)
		}
	}
}

// unmark removes marks from a value, remembering the strings of its marked
// parts as secrets.
func (l *loader) unmark(v cty.Value) cty.Value {
	if !v.ContainsMarked() {
		return v
	}
	un, paths := v.UnmarkDeepWithPaths()
	for _, pm := range paths {
		if sub, err := pm.Path.Apply(un); err == nil {
			l.collectSecrets(sub)
		}
	}
	return un
}

// scrub replaces every secret in a message.
func (l *loader) scrub(s string) string {
	if len(l.secrets) == 0 || s == "" {
		return s
	}
	// Longest first, so a secret containing another is replaced whole.
	list := make([]string, 0, len(l.secrets))
	for k := range l.secrets {
		list = append(list, k)
	}
	sort.Slice(list, func(i, j int) bool { return len(list[i]) > len(list[j]) })
	for _, secret := range list {
		if len(secret) < 4 {
			// Short secrets are replaced only where quoted, to keep the
			// message readable.
			s = strings.ReplaceAll(s, fmt.Sprintf("%q", secret), "(sensitive value)")
			continue
		}
		s = strings.ReplaceAll(s, secret, "(sensitive value)")
	}
	return s
}

// exprTouchesSensitive says whether any value an expression refers to holds
// a sensitive part (then its values are not shown with the diagnostic).
func (l *loader) exprTouchesSensitive(expr hcl.Expression, ctx *hcl.EvalContext) bool {
	for _, tr := range expr.Variables() {
		val, diags := tr.TraverseAbs(ctx)
		if diags.HasErrors() || val.ContainsMarked() {
			return true
		}
	}
	return false
}

// pathErr renders a conversion error with the path it happened at, like
// "[0]: a number is required" or ".name: attribute required".
func pathErr(err error) string {
	var pe cty.PathError
	if !errors.As(err, &pe) || len(pe.Path) == 0 {
		return err.Error()
	}
	var b strings.Builder
	for _, step := range pe.Path {
		switch s := step.(type) {
		case cty.GetAttrStep:
			b.WriteString("." + s.Name)
		case cty.IndexStep:
			switch s.Key.Type() {
			case cty.String:
				fmt.Fprintf(&b, "[%q]", s.Key.AsString())
			case cty.Number:
				b.WriteString("[" + s.Key.AsBigFloat().Text('f', -1) + "]")
			}
		}
	}
	return strings.TrimPrefix(b.String(), ".") + ": " + pe.Error()
}
