// Package logging builds the slog loggers of lxnetd: journald with structured
// fields when stderr is the journal (or when asked), human text on a terminal,
// and JSON for log shippers.
//
// It knows nothing about LXD or the configuration; callers pass attributes
// with the conventional keys (remote, object, action, plan_id, ...) and the
// journald handler turns them into LXNETD_* fields so `journalctl
// LXNETD_REMOTE=vm1` works.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/coreos/go-systemd/v22/journal"
)

// Formats accepted by New.
const (
	FormatAuto    = "auto"    // journal when stderr is the journal, text otherwise
	FormatText    = "text"    // human-readable lines
	FormatJSON    = "json"    // one JSON object per line (slog.JSONHandler)
	FormatJournal = "journal" // native journald protocol with LXNETD_* fields
)

// Options configure New.
type Options struct {
	Format string     // one of the Format constants; "" means auto
	Level  slog.Level // minimum level
	Writer io.Writer  // text/JSON destination; default os.Stderr
	// Identifier is SYSLOG_IDENTIFIER in the journal; default "lxnetd".
	Identifier string
}

// ParseLevel accepts debug, info, warn(ing) and error.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(strings.TrimSpace(s)))); err != nil {
		return 0, fmt.Errorf("parsing log level %q (want debug, info, warn or error): %w", s, err)
	}
	return l, nil
}

// New returns a logger for the requested format. FormatAuto picks journald
// when journal.StderrIsJournalStream reports that systemd connected stderr
// to the journal (JOURNAL_STREAM matches stderr's device and inode), so a
// service started by systemd logs structured fields without configuration,
// while the same binary run by hand prints text.
func New(o Options) (*slog.Logger, error) {
	if o.Writer == nil {
		o.Writer = os.Stderr
	}
	if o.Identifier == "" {
		o.Identifier = "lxnetd"
	}
	format := o.Format
	if format == "" || format == FormatAuto {
		format = FormatText
		if ok, err := journal.StderrIsJournalStream(); err == nil && ok {
			format = FormatJournal
		}
	}
	switch format {
	case FormatText:
		return slog.New(NewTextHandler(o.Writer, o.Level)), nil
	case FormatJSON:
		return slog.New(slog.NewJSONHandler(o.Writer, &slog.HandlerOptions{Level: o.Level, ReplaceAttr: clipAttr})), nil
	case FormatJournal:
		if !journal.Enabled() {
			return nil, fmt.Errorf("log format journal: the journald socket is not available")
		}
		return slog.New(NewJournalHandler(o.Identifier, o.Level, journal.Send)), nil
	default:
		return nil, fmt.Errorf("unknown log format %q (want auto, text, json or journal)", o.Format)
	}
}
