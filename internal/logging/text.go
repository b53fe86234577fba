package logging

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// TextHandler writes one human-readable line per record:
//
//	19:02:28.123 INFO  converged remote=vm1 changes=3
//
// It is meant for a terminal; slog's own TextHandler (time=... level=...
// msg=...) is harder to scan by eye.
type TextHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	level slog.Leveler
	scope // attributes and group prefix from WithAttrs/WithGroup
}

var _ slog.Handler = (*TextHandler)(nil)

// NewTextHandler returns a TextHandler writing to w records at or above level.
func NewTextHandler(w io.Writer, level slog.Leveler) *TextHandler {
	return &TextHandler{mu: &sync.Mutex{}, w: w, level: level}
}

// Enabled implements slog.Handler.
func (h *TextHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

// Handle implements slog.Handler.
func (h *TextHandler) Handle(_ context.Context, r slog.Record) error {
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	b := make([]byte, 0, 128)
	b = t.AppendFormat(b, "15:04:05.000")
	b = append(b, ' ')
	lv := r.Level.String()
	b = append(b, lv...)
	for i := len(lv); i < 5; i++ {
		b = append(b, ' ')
	}
	b = append(b, ' ')
	b = append(b, clip(r.Message)...)
	fields := h.fields(r)
	b = appendKV(b, fields)
	b = append(b, '\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(b)
	return err
}

// WithAttrs implements slog.Handler.
func (h *TextHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return derive(h, (*TextHandler).scoped, h.withAttrs(as))
}

// WithGroup implements slog.Handler.
func (h *TextHandler) WithGroup(name string) slog.Handler {
	return derive(h, (*TextHandler).scoped, h.withGroup(name))
}

func (h *TextHandler) scoped() *scope { return &h.scope }
