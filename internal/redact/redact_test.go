package redact

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
)

func TestScrubberString(t *testing.T) {
	sc := New([]string{"hunter2-long", "hunter2", "ab", "", "ab", "x", "1"})
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"nothing here", "nothing here"},
		// Longest first: the longer secret is replaced whole, not as
		// "(sensitive)-long".
		{"key=hunter2-long", "key=(sensitive)"},
		{"a hunter2 and hunter2", "a (sensitive) and (sensitive)"},
		{"prefixhunter2suffix", "prefix(sensitive)suffix"},
		// Short secrets only where they stand alone.
		{`Invalid value: ab`, `Invalid value: (sensitive)`},
		{`Invalid MTU "ab"`, `Invalid MTU "(sensitive)"`},
		{"ab", "(sensitive)"},
		{"table abc lab", "table abc lab"},
		{"ab.example ab_c", "ab.example ab_c"},
		{"x marks the box", "(sensitive) marks the box"},
		{"10.0.0.1/24 tcp/81", "10.0.0.1/24 tcp/81"},
		{"mtu=1, ttl: 1 (1) [ab]", "mtu=(sensitive), ttl: (sensitive) ((sensitive)) [(sensitive)]"},
		{"ab ab", "(sensitive) (sensitive)"},
	} {
		if got := sc.String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNilScrubber(t *testing.T) {
	var sc *Scrubber
	if New(nil) != nil || New([]string{""}) != nil {
		t.Error("New without secrets must be nil")
	}
	if sc.String("a secret") != "a secret" {
		t.Error("nil scrubber changed text")
	}
	err := errors.New("boom")
	if sc.Error(err) != err {
		t.Error("nil scrubber wrapped an error")
	}
}

func TestScrubberError(t *testing.T) {
	sc := New([]string{"s3cr3t-value"})
	clean := errors.New("not found")
	if sc.Error(clean) != clean {
		t.Error("an error without secrets must come back unchanged")
	}
	base := fmt.Errorf("updating profile.p: Invalid value: s3cr3t-value: %w", fs.ErrNotExist)
	got := sc.Error(base)
	if strings.Contains(got.Error(), "s3cr3t") || !strings.Contains(got.Error(), "Invalid value: (sensitive)") {
		t.Errorf("scrubbed error = %q", got)
	}
	if !errors.Is(got, fs.ErrNotExist) {
		t.Error("a scrubbed error must still unwrap to its cause")
	}
	// Wrapping a scrubbed error keeps it scrubbed.
	if w := fmt.Errorf("apply: %w", got); strings.Contains(w.Error(), "s3cr3t") {
		t.Errorf("wrapped error leaks: %q", w)
	}
}

func TestLive(t *testing.T) {
	var l Live
	if l.Scrubber() != nil {
		t.Fatal("empty Live must have no scrubber")
	}
	l.Add([]string{"first-secret"})
	first := l.Scrubber()
	l.Add([]string{"first-secret"})
	if l.Scrubber() != first {
		t.Error("adding nothing new rebuilt the scrubber")
	}
	l.Add([]string{"second-secret"})
	if got := l.Scrubber().String("first-secret second-secret"); got != "(sensitive) (sensitive)" {
		t.Errorf("Live keeps every secret added: got %q", got)
	}
}

type stringer struct{ s string }

func (s stringer) String() string { return s.s }

func TestHandler(t *testing.T) {
	var buf bytes.Buffer
	var l Live
	log := slog.New(NewHandler(slog.NewJSONHandler(&buf, nil), &l))
	// Derived before the secret is known: scrubbed when written.
	derived := log.With("object", "profile.x", "hint", "value topsecret-1 here").WithGroup("g")
	derived.Info("before the secret is known") // caches the derived handler
	buf.Reset()
	l.Add([]string{"topsecret-1"})
	derived.Error("change failed topsecret-1",
		"err", errors.New("Invalid value: topsecret-1"),
		"what", stringer{"is topsecret-1"},
		"list", []string{"a", "topsecret-1"},
		slog.Group("inner", "v", "topsecret-1"),
		"n", 42)
	out := buf.String()
	if strings.Contains(out, "topsecret") {
		t.Fatalf("log record leaks the secret:\n%s", out)
	}
	for _, want := range []string{`"msg":"change failed (sensitive)"`, `"hint":"value (sensitive) here"`, `"err":"Invalid value: (sensitive)"`, `"n":42`, `"g":{`, `"object":"profile.x"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log record lacks %s:\n%s", want, out)
		}
	}
}
