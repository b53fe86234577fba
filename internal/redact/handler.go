package redact

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
)

// Handler scrubs every log record — message and attributes, also those
// added with Logger.With — with the secrets of a Live set before passing
// it on. Attributes added with With are scrubbed again whenever the set
// grew: a logger derived before a reload is covered by the secrets the
// reload added.
type Handler struct {
	next    slog.Handler
	secrets *Live
	ops     []op // WithAttrs/WithGroup calls in order, replayed on next
	// derived is next with ops replayed, scrubbed by the Scrubber it was
	// made with; made again only when the set of secrets changed.
	derived *atomic.Pointer[derived]
}

type derived struct {
	sc *Scrubber
	h  slog.Handler
}

// op is one WithAttrs (attrs) or WithGroup (group) call.
type op struct {
	group string
	attrs []slog.Attr
}

// NewHandler returns a Handler writing to next.
func NewHandler(next slog.Handler, secrets *Live) *Handler {
	return &Handler{next: next, secrets: secrets, derived: &atomic.Pointer[derived]{}}
}

// Enabled reports what next reports.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle scrubs r and writes it to next.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	sc := h.secrets.Scrubber()
	d := h.derived.Load()
	if d == nil || d.sc != sc {
		d = &derived{sc: sc, h: h.next}
		for _, o := range h.ops {
			if o.attrs != nil {
				d.h = d.h.WithAttrs(scrubAttrs(sc, o.attrs))
			} else {
				d.h = d.h.WithGroup(o.group)
			}
		}
		h.derived.Store(d)
	}
	next := d.h
	if sc == nil {
		return next.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, sc.String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(scrubAttr(sc, a))
		return true
	})
	return next.Handle(ctx, out)
}

// WithAttrs records attrs, to be scrubbed when a record is written.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return h.with(op{attrs: attrs})
}

// WithGroup records the group.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.with(op{group: name})
}

func (h *Handler) with(o op) *Handler {
	c := *h
	c.ops = append(append([]op(nil), h.ops...), o)
	c.derived = &atomic.Pointer[derived]{}
	return &c
}

func scrubAttrs(sc *Scrubber, as []slog.Attr) []slog.Attr {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = scrubAttr(sc, a)
	}
	return out
}

// scrubAttr scrubs an attribute's value: strings, errors and anything else
// that prints as text (it is written as its scrubbed text); groups
// recursively. Numbers, booleans, times and durations stay as they are.
func scrubAttr(sc *Scrubber, a slog.Attr) slog.Attr {
	if sc == nil {
		return a
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, sc.String(v.String()))
	case slog.KindGroup:
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(scrubAttrs(sc, v.Group())...)}
	case slog.KindAny:
		var s string
		switch x := v.Any().(type) {
		case error:
			s = x.Error()
		case fmt.Stringer:
			s = x.String()
		default:
			s = fmt.Sprint(x)
		}
		if clean := sc.String(s); clean != s {
			return slog.String(a.Key, clean)
		}
		return slog.Attr{Key: a.Key, Value: v}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
