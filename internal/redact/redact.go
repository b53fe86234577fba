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
// occurs would blank out every plan. A secret shorter than MinLen bytes is
// therefore replaced only where it stands alone between separators (white
// space, quotes, `=:,;()[]{}<>`, or the start or end of the text): "ab" in
// `value: ab` and `"ab"`, not in "table" or "ab.example"; "1" in `mtu=1`, not
// in "10.0.0.1/24". Marks, not strings, protect the plan's values; this rule
// only bounds what the net catches in free text.
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

// replaceAlone replaces secret where it stands alone: where each side is
// the start or end of s or a separator (see separator).
func replaceAlone(s, secret string) string {
	var b strings.Builder
	done := 0 // s[:done] is written
	for from := 0; from <= len(s)-len(secret); {
		i := strings.Index(s[from:], secret)
		if i < 0 {
			break
		}
		i += from
		end := i + len(secret)
		before, _ := utf8.DecodeLastRuneInString(s[:i])
		after, _ := utf8.DecodeRuneInString(s[end:])
		if (i == 0 || separator(before)) && (end == len(s) || separator(after)) {
			b.WriteString(s[done:i])
			b.WriteString(Marker)
			done = end
			from = end
			continue
		}
		from = i + 1
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// separator reports whether r ends a value in a message: white space,
// quotes and `=:,;()[]{}<>`. Not ".", "/", "-" or "_", which join the parts
// of addresses, paths and names: a secret "1" leaves "10.0.0.1/24" alone.
func separator(r rune) bool {
	return unicode.IsSpace(r) || strings.ContainsRune("\"'`=:,;()[]{}<>", r)
}

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
