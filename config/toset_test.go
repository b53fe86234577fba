package config

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// TestTosetMatchesGoCty: the linear toset gives go-cty's result (value and
// error) for every shape of input, the fast path's and the others.
func TestTosetMatchesGoCty(t *testing.T) {
	s := cty.StringVal
	for name, v := range map[string]cty.Value{
		"strings with duplicates":     cty.TupleVal([]cty.Value{s("b"), s("a"), s("b")}),
		"numbers":                     cty.TupleVal([]cty.Value{cty.NumberIntVal(2), cty.NumberIntVal(1)}),
		"list of strings":             cty.ListVal([]cty.Value{s("x"), s("y")}),
		"set of strings":              cty.SetVal([]cty.Value{s("x")}),
		"empty tuple":                 cty.EmptyTupleVal,
		"empty list":                  cty.ListValEmpty(cty.String),
		"mixed types (unified)":       cty.TupleVal([]cty.Value{s("a"), cty.NumberIntVal(1), cty.True}),
		"unknown element":             cty.TupleVal([]cty.Value{s("a"), cty.UnknownVal(cty.String)}),
		"sensitive element":           cty.TupleVal([]cty.Value{s("a"), s("secret").Mark("sensitive")}),
		"null element":                cty.TupleVal([]cty.Value{s("a"), cty.NullVal(cty.String)}),
		"null":                        cty.NullVal(cty.List(cty.String)),
		"objects":                     cty.TupleVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"a": s("1")})}),
		"a string (not a collection)": s("a"),
	} {
		t.Run(name, func(t *testing.T) {
			want, wantErr := stdlibToset.Call([]cty.Value{v})
			got, gotErr := tosetFunc.Call([]cty.Value{v})
			if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
				t.Fatalf("error %v, go-cty's %v", gotErr, wantErr)
			}
			if wantErr == nil && !got.RawEquals(want) {
				t.Fatalf("got %#v, go-cty gives %#v", got, want)
			}
		})
	}
}
