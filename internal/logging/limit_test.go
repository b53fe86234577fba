package logging

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// TestRecordSizeBounded: a record whose message, string attribute and
// error are each 10 MB comes out of every handler at a bounded size, with
// the start kept and a marker saying how much was cut.
func TestRecordSizeBounded(t *testing.T) {
	huge := strings.Repeat("é", 5<<20) // 10 MB, two bytes a character
	emit := func(log *slog.Logger) {
		log.Error(huge, "detail", huge, "error", errors.New(huge), "remote", "vm1")
	}
	const bound = 4*MaxValueBytes + 1024
	check := func(name, record string) {
		t.Helper()
		if len(record) > bound {
			t.Errorf("%s: record of %d bytes, want at most %d", name, len(record), bound)
		}
		if !strings.Contains(record, "more bytes cut]") || !strings.Contains(record, "vm1") {
			t.Errorf("%s: no cut marker or lost the short attribute: %.300s", name, record)
		}
		if !strings.Contains(record, "éé") {
			t.Errorf("%s: the start of the value is not kept", name)
		}
	}

	var text bytes.Buffer
	emit(slog.New(NewTextHandler(&text, slog.LevelDebug)))
	check("text", text.String())

	var js bytes.Buffer
	log, err := New(Options{Format: FormatJSON, Writer: &js})
	if err != nil {
		t.Fatal(err)
	}
	emit(log)
	check("json", js.String())

	var got []entry
	emit(slog.New(NewJournalHandler("lxnetd", slog.LevelDebug, recorder(&got))))
	if len(got) != 1 {
		t.Fatalf("%d journal entries", len(got))
	}
	size := len(got[0].msg)
	for k, v := range got[0].vars {
		size += len(k) + len(v)
	}
	if size > 2*bound {
		t.Errorf("journal: record of %d bytes", size)
	}
	check("journal", got[0].msg)
	if v := got[0].vars["LXNETD_DETAIL"]; len(v) > MaxValueBytes+64 || !strings.HasSuffix(v, "more bytes cut]") {
		t.Errorf("journal field LXNETD_DETAIL: %d bytes, ends %q", len(v), v[max(0, len(v)-40):])
	}
}

func TestClipCharacterBoundary(t *testing.T) {
	s := "a" + strings.Repeat("é", MaxValueBytes)
	c := clip(s)
	if !strings.HasPrefix(c, "aé") || strings.ContainsRune(c, '\uFFFD') {
		t.Errorf("clip broke a character: %q", c[MaxValueBytes-4:])
	}
	if clip("short") != "short" {
		t.Error("clip changed a short value")
	}
}
