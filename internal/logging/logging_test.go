package logging

import (
	"bytes"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/coreos/go-systemd/v22/journal"
)

type entry struct {
	msg  string
	pri  journal.Priority
	vars map[string]string
}

func recorder(got *[]entry) SendFunc {
	return func(m string, p journal.Priority, v map[string]string) error {
		*got = append(*got, entry{m, p, v})
		return nil
	}
}

func TestJournalHandlerFields(t *testing.T) {
	var got []entry
	log := slog.New(NewJournalHandler("lxnetd", slog.LevelDebug, recorder(&got)))
	log.With("remote", "vm1").WithGroup("plan").Info("applied change",
		"object", "forward.web", "action", "create", "id", "p-1", slog.Group("x", "a-b", 2))
	if len(got) != 1 {
		t.Fatalf("got %d entries, want 1", len(got))
	}
	e := got[0]
	if e.pri != journal.PriInfo {
		t.Errorf("priority = %d, want %d", e.pri, journal.PriInfo)
	}
	wantVars := map[string]string{
		"SYSLOG_IDENTIFIER":  "lxnetd",
		"LXNETD_REMOTE":      "vm1",
		"LXNETD_PLAN_OBJECT": "forward.web",
		"LXNETD_PLAN_ACTION": "create",
		"LXNETD_PLAN_ID":     "p-1",
		"LXNETD_PLAN_X_A_B":  "2",
	}
	for k, want := range wantVars {
		if e.vars[k] != want {
			t.Errorf("field %s = %q, want %q (all: %v)", k, e.vars[k], want, e.vars)
		}
	}
	if e.vars["CODE_FILE"] == "" || !strings.HasSuffix(e.vars["CODE_FILE"], "logging_test.go") {
		t.Errorf("CODE_FILE = %q, want this test file", e.vars["CODE_FILE"])
	}
	valid := regexp.MustCompile(`^[A-Z0-9][A-Z0-9_]*$`)
	for k := range e.vars {
		if !valid.MatchString(k) {
			t.Errorf("invalid journal field name %q", k)
		}
	}
	wantMsg := "applied change remote=vm1 plan.object=forward.web plan.action=create plan.id=p-1 plan.x.a-b=2"
	if e.msg != wantMsg {
		t.Errorf("MESSAGE = %q, want %q", e.msg, wantMsg)
	}
}

func TestPriorityRanges(t *testing.T) {
	cases := []struct {
		l    slog.Level
		want journal.Priority
	}{
		{slog.LevelDebug - 4, journal.PriDebug},
		{slog.LevelDebug, journal.PriDebug},
		{slog.LevelInfo - 1, journal.PriDebug},
		{slog.LevelInfo, journal.PriInfo},
		{slog.LevelInfo + 1, journal.PriInfo},
		{slog.LevelInfo + 2, journal.PriNotice},
		{slog.LevelWarn, journal.PriWarning},
		{slog.LevelError - 1, journal.PriWarning},
		{slog.LevelError, journal.PriErr},
		{slog.LevelError + 4, journal.PriCrit},
	}
	for _, c := range cases {
		if got := Priority(c.l); got != c.want {
			t.Errorf("Priority(%v) = %d, want %d", c.l, got, c.want)
		}
	}
}

func TestFieldName(t *testing.T) {
	for in, want := range map[string]string{
		"remote":  "LXNETD_REMOTE",
		"plan_id": "LXNETD_PLAN_ID",
		"_secret": "LXNETD__SECRET",
		"a.b-c d": "LXNETD_A_B_C_D",
		"élan":    "LXNETD__LAN",
		"Object2": "LXNETD_OBJECT2",
	} {
		if got := FieldName(in); got != want {
			t.Errorf("FieldName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJournalHandlerLevel(t *testing.T) {
	var got []entry
	log := slog.New(NewJournalHandler("x", slog.LevelWarn, recorder(&got)))
	log.Info("dropped")
	log.Error("kept", "err", "boom")
	if len(got) != 1 || got[0].pri != journal.PriErr || got[0].vars["LXNETD_ERR"] != "boom" {
		t.Fatalf("got %+v, want one err entry with LXNETD_ERR=boom", got)
	}
}

func TestTextHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewTextHandler(&buf, slog.LevelInfo))
	log.Debug("hidden")
	log.With("remote", "vm2").Warn("remote unreachable", "err", "dial unix /x: connection refused", "empty", "")
	line := buf.String()
	re := regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} WARN  remote unreachable remote=vm2 err="dial unix /x: connection refused" empty=""\n$`)
	if !re.MatchString(line) {
		t.Fatalf("line %q does not match %v", line, re)
	}
}

func TestNewFormats(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(Options{Format: FormatJSON, Writer: &buf})
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hello", "remote", "vm1")
	if !strings.Contains(buf.String(), `"msg":"hello","remote":"vm1"`) {
		t.Errorf("json output %q", buf.String())
	}
	if _, err := New(Options{Format: "xml"}); err == nil {
		t.Error("New accepted unknown format xml")
	}
	t.Setenv("JOURNAL_STREAM", "")
	buf.Reset()
	log, err = New(Options{Format: FormatAuto, Writer: &buf})
	if err != nil {
		t.Fatal(err)
	}
	log.Info("auto")
	if !strings.Contains(buf.String(), "INFO  auto") {
		t.Errorf("auto without JOURNAL_STREAM should print text, got %q", buf.String())
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError} {
		got, err := ParseLevel(in)
		if err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseLevel("loud"); err == nil {
		t.Error("ParseLevel accepted loud")
	}
}
