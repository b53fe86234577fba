package logging

import (
	"log/slog"
	"strconv"
	"strings"
	"unicode/utf8"
)

// field is one flattened attribute: its key path joined with "." and its value.
type field struct {
	key   string
	value string
}

// scope is what WithAttrs and WithGroup leave on a handler: the attributes
// added so far, already flattened, and the group prefix for attributes added
// later. Both handlers embed it so that they derive children the same way;
// children copy the slice, so siblings never share appended fields.
type scope struct {
	prefix string
	attrs  []field
}

// withAttrs returns s with as flattened under the current group prefix.
func (s scope) withAttrs(as []slog.Attr) scope {
	attrs := append([]field(nil), s.attrs...)
	for _, a := range as {
		attrs = flatten(attrs, s.prefix, a)
	}
	return scope{prefix: s.prefix, attrs: attrs}
}

// withGroup returns s with later attributes nested under name (an empty
// name changes nothing, as slog.Handler requires).
func (s scope) withGroup(name string) scope {
	if name == "" {
		return s
	}
	return scope{prefix: s.prefix + name + ".", attrs: s.attrs}
}

// derive returns a copy of handler h whose scope (reached through field) is
// next: how both handlers implement WithAttrs and WithGroup.
func derive[H any](h *H, field func(*H) *scope, next scope) *H {
	c := *h
	*field(&c) = next
	return &c
}

// fields returns the scope's attributes followed by the record's own.
func (s scope) fields(r slog.Record) []field {
	fields := append([]field(nil), s.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		fields = flatten(fields, s.prefix, a)
		return true
	})
	return fields
}

// flatten appends a's leaves to dst with group prefixes, resolving LogValuers
// and dropping empty attributes as slog.Handler implementations must.
func flatten(dst []field, prefix string, a slog.Attr) []field {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return dst
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p = prefix + a.Key + "."
		}
		for _, g := range a.Value.Group() {
			dst = flatten(dst, p, g)
		}
		return dst
	}
	return append(dst, field{key: prefix + a.Key, value: clip(a.Value.String())})
}

// quoteIfNeeded makes a value safe for key=value output: values with spaces,
// quotes, '=' or control characters are Go-quoted.
func quoteIfNeeded(s string) string {
	if s == "" {
		return `""`
	}
	if !utf8.ValidString(s) || strings.ContainsAny(s, " \t\r\n\"=\\") {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return strconv.Quote(s)
		}
	}
	return s
}

// appendKV writes " key=value" for every field.
func appendKV(b []byte, fields []field) []byte {
	for _, f := range fields {
		b = append(b, ' ')
		b = append(b, f.key...)
		b = append(b, '=')
		b = append(b, quoteIfNeeded(f.value)...)
	}
	return b
}
