package logging

import (
	"fmt"
	"log/slog"
	"unicode/utf8"
)

// MaxValueBytes bounds the message and each attribute value of a record.
// A record carries what went wrong, and what went wrong can be huge (a
// garbage configuration file once produced a single 671 MB journal record):
// the start says what it is, the rest is cut with a marker saying how much.
const MaxValueBytes = 16 << 10

// clip cuts s to MaxValueBytes on a character boundary, saying how many
// bytes were cut.
func clip(s string) string {
	if len(s) <= MaxValueBytes {
		return s
	}
	cut := MaxValueBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… [%d more bytes cut]", len(s)-cut)
}

// clipAttr is slog.HandlerOptions.ReplaceAttr for slog's JSON handler:
// strings, errors and other values whose text is too long are clipped.
func clipAttr(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		if len(a.Value.String()) > MaxValueBytes {
			a.Value = slog.StringValue(clip(a.Value.String()))
		}
	case slog.KindAny:
		var s string
		switch v := a.Value.Any().(type) {
		case error:
			s = v.Error()
		case fmt.Stringer:
			s = v.String()
		default:
			return a
		}
		if len(s) > MaxValueBytes {
			a.Value = slog.StringValue(clip(s))
		}
	}
	return a
}
