// Package redact keeps values derived from sensitive variables out of what
// lxnetd prints: plan and apply output, errors (LXD's own error text echoes
// the values it refuses), daemon logs and status.
//
// It is the safety net under the structured marks. Like Terraform, lxnetd
// marks sensitive values where it knows them (a plan's key diffs carry a
// Sensitive flag and print as "(sensitive)"); text it does not build itself,
// such as an LXD error, can only be cleaned by looking for the secret
// strings. A Scrubber does that, longest secret first so a secret containing
// another is replaced whole.
//
// Short secrets are the edge: replacing a one-character secret wherever it
// occurs would blank out every plan. A secret shorter than MinLen characters
// is therefore replaced only where it stands alone — not inside a longer run
// of letters and digits ("ab" in `value: ab` and `"ab"`, not in "table").
// Marks, not strings, protect the plan's values; this rule only bounds what
// the net may miss in free text.
package redact

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

// Marker replaces a secret in text.
const Marker = "(sensitive)"

// MinLen is the length (in bytes) from which a secret is replaced wherever
// it occurs; shorter ones only where they stand alone.
const MinLen = 4

// Scrubber replaces a fixed set of secret strings. The nil Scrubber
// replaces nothing, so callers need not check whether there are secrets.
type Scrubber struct {
	long  *strings.Replacer
	short []string // longest first
}

// New returns a Scrubber for secrets (empty strings are ignored), or nil
// when there is none.
func New(secrets []string) *Scrubber {
	var long, short []string
	seen := map[string]bool{}
	for _, s := range secrets {
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		if len(s) >= MinLen {
			long = append(long, s)
		} else {
			short = append(short, s)
		}
	}
	if len(long)+len(short) == 0 {
		return nil
	}
	byLength := func(a, b string) int {
		if c := cmp.Compare(len(b), len(a)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	}
	slices.SortFunc(long, byLength)
	slices.SortFunc(short, byLength)
	sc := &Scrubber{short: short}
	if len(long) > 0 {
		// A Replacer tries its pairs in argument order at each position:
		// longest first, so the longest secret starting there wins.
		pairs := make([]string, 0, 2*len(long))
		for _, s := range long {
			pairs = append(pairs, s, Marker)
		}
		sc.long = strings.NewReplacer(pairs...)
	}
	return sc
}

// String returns s with every secret replaced by Marker.
func (sc *Scrubber) String(s string) string {
	if sc == nil || s == "" {
		return s
	}
	if sc.long != nil {
		s = sc.long.Replace(s)
	}
	for _, secret := range sc.short {
		s = replaceAlone(s, secret)
	}
	return s
}

// replaceAlone replaces secret where it is not part of a longer run of
// letters and digits.
func replaceAlone(s, secret string) string {
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, secret)
		if i < 0 {
			break
		}
		before, _ := utf8.DecodeLastRuneInString(rest[:i])
		after, _ := utf8.DecodeRuneInString(rest[i+len(secret):])
		first, _ := utf8.DecodeRuneInString(secret)
		last, _ := utf8.DecodeLastRuneInString(secret)
		joined := (i > 0 && alnum(before) && alnum(first)) ||
			(i+len(secret) < len(rest) && alnum(after) && alnum(last))
		b.WriteString(rest[:i])
		if joined {
			b.WriteString(secret)
		} else {
			b.WriteString(Marker)
		}
		rest = rest[i+len(secret):]
	}
	if b.Len() == 0 {
		return s
	}
	b.WriteString(rest)
	return b.String()
}

func alnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// Error returns err with its message scrubbed. The result still unwraps to
// err, so errors.Is and errors.As decide as before; only its text changes.
// An error whose message holds no secret is returned as it is.
func (sc *Scrubber) Error(err error) error {
	if sc == nil || err == nil {
		return err
	}
	msg := err.Error()
	clean := sc.String(msg)
	if clean == msg {
		return err
	}
	return &scrubbed{msg: clean, err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// Live is a set of secrets that grows while a process runs (the daemon
// reloads its configuration), and the Scrubber of the current set. It keeps
// the secrets of earlier configurations too: a pass of the previous
// configuration may still be logging. Safe for concurrent use.
type Live struct {
	mu  sync.Mutex
	set map[string]bool
	cur atomic.Pointer[Scrubber]
}

// Add adds secrets to the set.
func (l *Live) Add(secrets []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.set == nil {
		l.set = map[string]bool{}
	}
	grew := false
	for _, s := range secrets {
		if s != "" && !l.set[s] {
			l.set[s], grew = true, true
		}
	}
	if grew {
		all := make([]string, 0, len(l.set))
		for s := range l.set {
			all = append(all, s)
		}
		l.cur.Store(New(all))
	}
}

// Scrubber is the Scrubber of the secrets added so far (nil: none).
func (l *Live) Scrubber() *Scrubber {
	if l == nil {
		return nil
	}
	return l.cur.Load()
}
