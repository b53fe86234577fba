package config

import (
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// stdlibToset is go-cty's toset: a conversion to set(any type).
var stdlibToset = stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType))

// tosetFunc is toset with a linear path for the common case.
//
// go-cty converts a tuple to a set of "any type" by unifying the element
// types, which costs time quadratic in the number of elements: toset of
// 100 000 strings took minutes (issue 13), and `for_each = toset([...])` is
// how a big configuration is written. When every element is already a known,
// non-null, unmarked value of one primitive type (a list of strings: what
// for_each wants), there is nothing to unify and the set is built directly.
// Anything else — mixed types, unknown, null or sensitive elements, nested
// collections — takes go-cty's conversion, with its checks and messages.
var tosetFunc = function.New(&function.Spec{
	Description: stdlibToset.Description(),
	Params: []function.Parameter{{
		Name:             "v",
		Type:             cty.DynamicPseudoType,
		AllowNull:        true,
		AllowDynamicType: true,
	}},
	Type: func(args []cty.Value) (cty.Type, error) {
		if _, ok := uniformPrimitive(args[0].Type()); ok {
			return cty.Set(cty.DynamicPseudoType), nil // what go-cty's type check would say, without unifying
		}
		return stdlibToset.ReturnTypeForValues(args)
	},
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v := args[0]
		ety, ok := uniformPrimitive(v.Type())
		if !ok || v.IsNull() || !v.IsWhollyKnown() || v.ContainsMarked() {
			return stdlibToset.Call(args)
		}
		if v.LengthInt() == 0 {
			return cty.SetValEmpty(ety), nil
		}
		elems := v.AsValueSlice()
		for _, e := range elems {
			if e.IsNull() {
				return stdlibToset.Call(args) // go-cty's error for a null element
			}
		}
		return cty.SetVal(elems), nil
	},
})

// uniformPrimitive reports whether ty is a tuple, list or set whose elements
// all have one primitive type, and which.
func uniformPrimitive(ty cty.Type) (cty.Type, bool) {
	switch {
	case ty.IsListType() || ty.IsSetType():
		ety := ty.ElementType()
		return ety, ety.IsPrimitiveType()
	case ty.IsTupleType():
		etys := ty.TupleElementTypes()
		if len(etys) == 0 || !etys[0].IsPrimitiveType() {
			return cty.NilType, false
		}
		for _, t := range etys[1:] {
			if !t.Equals(etys[0]) {
				return cty.NilType, false
			}
		}
		return etys[0], true
	}
	return cty.NilType, false
}
