package logging

import (
	"context"
	"log/slog"
	"runtime"
	"strconv"
	"strings"

	"github.com/coreos/go-systemd/v22/journal"
)

// SendFunc delivers one journal entry; journal.Send in production, a
// recorder in tests (the journald socket path is fixed, so tests cannot
// point the real sender elsewhere).
type SendFunc func(message string, priority journal.Priority, vars map[string]string) error

// JournalHandler sends records to journald over its native protocol. Every
// attribute becomes a field LXNETD_<KEY> (upper-cased, characters outside
// [A-Z0-9_] replaced by '_', groups joined with '_'), so
//
//	log.Info("applied", "remote", "vm1", "object", "forward.web", "action", "create", "plan_id", id)
//
// can be queried with `journalctl LXNETD_REMOTE=vm1`. The attributes are also
// appended to MESSAGE as key=value so plain `journalctl -u lxnetd` reads well.
type JournalHandler struct {
	send  SendFunc
	level slog.Leveler
	ident string
	scope // attributes and group prefix from WithAttrs/WithGroup
}

var _ slog.Handler = (*JournalHandler)(nil)

// NewJournalHandler returns a handler that sends records at or above level
// through send with SYSLOG_IDENTIFIER=ident.
func NewJournalHandler(ident string, level slog.Leveler, send SendFunc) *JournalHandler {
	return &JournalHandler{send: send, level: level, ident: ident}
}

// Priority maps a slog level to a syslog priority by ranges, so custom levels
// between the named ones land on the nearest lower priority band:
// >= ERROR+4 crit, >= ERROR err, >= WARN warning, >= INFO+2 notice,
// >= INFO info, below debug.
func Priority(l slog.Level) journal.Priority {
	switch {
	case l >= slog.LevelError+4:
		return journal.PriCrit
	case l >= slog.LevelError:
		return journal.PriErr
	case l >= slog.LevelWarn:
		return journal.PriWarning
	case l >= slog.LevelInfo+2:
		return journal.PriNotice
	case l >= slog.LevelInfo:
		return journal.PriInfo
	default:
		return journal.PriDebug
	}
}

// FieldName turns an attribute key into a valid journal field name:
// "LXNETD_" + the key upper-cased with every character outside [A-Z0-9_]
// replaced by '_'. The prefix guarantees no leading underscore (reserved
// for trusted fields) and no clash with journald's own fields.
func FieldName(key string) string {
	var b strings.Builder
	b.Grow(len("LXNETD_") + len(key))
	b.WriteString("LXNETD_")
	for _, r := range strings.ToUpper(key) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// Enabled implements slog.Handler.
func (h *JournalHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

// Handle implements slog.Handler.
func (h *JournalHandler) Handle(_ context.Context, r slog.Record) error {
	fields := h.fields(r)
	vars := make(map[string]string, len(fields)+4)
	vars["SYSLOG_IDENTIFIER"] = h.ident
	if r.PC != 0 {
		fs := runtime.CallersFrames([]uintptr{r.PC})
		f, _ := fs.Next()
		if f.File != "" {
			vars["CODE_FILE"] = f.File
			vars["CODE_LINE"] = strconv.Itoa(f.Line)
			vars["CODE_FUNC"] = f.Function
		}
	}
	for _, f := range fields {
		vars[FieldName(f.key)] = f.value
	}
	msg := string(appendKV([]byte(clip(r.Message)), fields))
	return h.send(msg, Priority(r.Level), vars)
}

// WithAttrs implements slog.Handler.
func (h *JournalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return derive(h, (*JournalHandler).scoped, h.withAttrs(as))
}

// WithGroup implements slog.Handler.
func (h *JournalHandler) WithGroup(name string) slog.Handler {
	return derive(h, (*JournalHandler).scoped, h.withGroup(name))
}

func (h *JournalHandler) scoped() *scope { return &h.scope }
