package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// Diagnostics are the problems found while loading a configuration: user
// mistakes, each pointing at the narrowest source range that shows it, with
// a Detail that says what to do. They carry the source of every file read so
// that they can be rendered with snippets long after loading.
type Diagnostics struct {
	diags   hcl.Diagnostics
	sources map[string][]byte    // file name as used in ranges -> content
	files   map[string]*hcl.File // parsed files, for "in network "x"" context

	// dir is the configuration directory as the caller named it; files in
	// inDir are shown joined to it by WriteText and WriteJSON, so the
	// locations printed by `lxnetd validate DIR` open from the caller's
	// working directory. Err keeps the names relative to the directory.
	dir   string
	inDir map[string]bool

	// omitted counts the errors of garbage files that were not kept at
	// all (maxParseDiagnostics).
	omitted int
}

// MaxShown is how many diagnostics WriteText and WriteJSON show; the rest
// are counted ("and 12 more errors"). The first ones are what to fix first,
// and a garbage file must not turn into hundreds of megabytes of output.
const MaxShown = 20

// display is a file name as WriteText and WriteJSON show it.
func (d Diagnostics) display(name string) string {
	if d.dir == "" || !d.inDir[name] {
		return name
	}
	return filepath.Join(d.dir, name)
}

// Diagnostic is one problem in plain values, for callers that must not import
// HCL (the daemon reports them in its status) and for JSON output.
type Diagnostic struct {
	Severity string `json:"severity"` // "error" or "warning"
	Summary  string `json:"summary"`
	Detail   string `json:"detail,omitempty"`
	Range    *Range `json:"range,omitempty"`
	Snippet  *Snip  `json:"snippet,omitempty"`
}

// Range is a span of a configuration file; lines and columns count from 1.
type Range struct {
	Filename string `json:"filename"`
	Start    Point  `json:"start"`
	End      Point  `json:"end"`
}

// Point is a position in a file.
type Point struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// Snip is the source around a diagnostic, shaped like Terraform's JSON
// diagnostics so existing tooling can read it.
type Snip struct {
	Context              string `json:"context,omitempty"`
	Code                 string `json:"code"`
	StartLine            int    `json:"start_line"`
	HighlightStartOffset int    `json:"highlight_start_offset"`
	HighlightEndOffset   int    `json:"highlight_end_offset"`
}

// HasErrors reports whether any diagnostic is an error (warnings do not stop
// a configuration from loading).
func (d Diagnostics) HasErrors() bool { return d.diags.HasErrors() }

// Len is the number of diagnostics, warnings included.
func (d Diagnostics) Len() int { return len(d.diags) }

// Err is nil when there are no errors; otherwise one line naming the first
// error and how many more there are, for logs and wrapped errors.
func (d Diagnostics) Err() error {
	var errs []*hcl.Diagnostic
	for _, diag := range d.diags {
		if diag.Severity == hcl.DiagError {
			errs = append(errs, diag)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	msg := errs[0].Error()
	if more := len(errs) - 1 + d.omitted; more > 0 {
		msg += fmt.Sprintf(" (and %d more)", more)
	}
	return diagError(msg)
}

type diagError string

func (e diagError) Error() string { return string(e) }

// List returns the diagnostics as plain values, in the order they were found.
func (d Diagnostics) List() []Diagnostic { return d.list(d.diags) }

// shown splits the diagnostics into those shown and the numbers of errors
// and warnings left out.
func (d Diagnostics) shown() (shown hcl.Diagnostics, moreErrors, moreWarnings int) {
	shown = d.diags
	if len(shown) > MaxShown {
		shown = shown[:MaxShown]
		for _, diag := range d.diags[MaxShown:] {
			if diag.Severity == hcl.DiagError {
				moreErrors++
			} else {
				moreWarnings++
			}
		}
	}
	return shown, moreErrors + d.omitted, moreWarnings
}

// moreText says how many diagnostics were left out ("" when none).
func moreText(errs, warnings int) string {
	var parts []string
	if errs > 0 {
		parts = append(parts, plural(errs, "error"))
	}
	if warnings > 0 {
		parts = append(parts, plural(warnings, "warning"))
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("... and %s, not shown: fix the ones above first.", strings.Join(parts, " and "))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 more " + what
	}
	return fmt.Sprintf("%d more %ss", n, what)
}

func (d Diagnostics) list(diags hcl.Diagnostics) []Diagnostic {
	out := make([]Diagnostic, 0, len(diags))
	for _, diag := range diags {
		pd := Diagnostic{Severity: "error", Summary: diag.Summary, Detail: diag.Detail}
		if diag.Severity == hcl.DiagWarning {
			pd.Severity = "warning"
		}
		if diag.Subject != nil {
			r := *diag.Subject
			pd.Range = &Range{
				Filename: d.display(r.Filename),
				Start:    Point{r.Start.Line, r.Start.Column, r.Start.Byte},
				End:      Point{r.End.Line, r.End.Column, r.End.Byte},
			}
			if src, ok := d.sources[r.Filename]; ok {
				pd.Snippet = d.snippet(src, r)
			}
		}
		out = append(out, pd)
	}
	return out
}

func (d Diagnostics) snippet(src []byte, r hcl.Range) *Snip {
	lines := sourceLines(src, r)
	if len(lines) == 0 {
		return nil
	}
	code := strings.Join(lines, "\n")
	lineStart := lineStartByte(src, r.Start.Byte)
	start := r.Start.Byte - lineStart
	end := r.End.Byte - lineStart
	if end > len(code) {
		end = len(code)
	}
	if start > end {
		start = end
	}
	code, start, end = window(code, start, end)
	return &Snip{
		Context:              d.context(r),
		Code:                 code,
		StartLine:            r.Start.Line,
		HighlightStartOffset: start,
		HighlightEndOffset:   end,
	}
}

// context names the block a range is in ("network \"br0\""), as hcl's own
// text writer does.
func (d Diagnostics) context(r hcl.Range) string {
	f := d.files[r.Filename]
	if f == nil {
		return ""
	}
	if nav, ok := f.Nav.(interface{ ContextString(int) string }); ok {
		return nav.ContextString(r.Start.Byte)
	}
	return ""
}

// WriteJSON writes {"valid", "error_count", "warning_count", "diagnostics"}
// like `terraform validate -json`. The counts are of all diagnostics; the
// list holds the first MaxShown, and "omitted" says how many are left out.
func (d Diagnostics) WriteJSON(w io.Writer) error {
	nerr := d.omitted
	var nwarn int
	for _, diag := range d.diags {
		if diag.Severity == hcl.DiagError {
			nerr++
		} else {
			nwarn++
		}
	}
	shown, moreErr, moreWarn := d.shown()
	out := struct {
		Valid        bool         `json:"valid"`
		ErrorCount   int          `json:"error_count"`
		WarningCount int          `json:"warning_count"`
		Diagnostics  []Diagnostic `json:"diagnostics"`
		Omitted      int          `json:"omitted,omitempty"`
	}{nerr == 0, nerr, nwarn, d.list(shown), moreErr + moreWarn}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("writing diagnostics: %w", err)
	}
	return nil
}

const (
	ansiReset = "\x1b[0m"
	ansiBold  = "\x1b[1m"
	ansiRed   = "\x1b[1;31m"
	ansiYel   = "\x1b[1;33m"
)

// WriteText writes every diagnostic in a form both people and editors read:
//
//	web.hcl:3:5: error: Unsupported argument
//	  in network "br0":
//	    3 |   colour = "red"
//	      |   ^^^^^^
//	  An argument named "colour" is not expected here.
//
// The first line is file:line:col (quickfix style); the carets mark the
// exact range. With color, severity and carets are colored (for terminals).
func (d Diagnostics) WriteText(w io.Writer, color bool) error {
	var buf bytes.Buffer
	shown, moreErr, moreWarn := d.shown()
	for i, diag := range shown {
		if i > 0 {
			buf.WriteByte('\n')
		}
		d.writeOne(&buf, diag, color)
	}
	if more := moreText(moreErr, moreWarn); more != "" {
		fmt.Fprintf(&buf, "\n%s\n", more)
	}
	_, err := w.Write(buf.Bytes())
	if err != nil {
		return fmt.Errorf("writing diagnostics: %w", err)
	}
	return nil
}

func (d Diagnostics) writeOne(buf *bytes.Buffer, diag *hcl.Diagnostic, color bool) {
	sev, code := "error", ansiRed
	if diag.Severity == hcl.DiagWarning {
		sev, code = "warning", ansiYel
	}
	paint := func(c, s string) string {
		if !color {
			return s
		}
		return c + s + ansiReset
	}
	if diag.Subject != nil {
		fmt.Fprintf(buf, "%s:%d:%d: ", d.display(diag.Subject.Filename), diag.Subject.Start.Line, diag.Subject.Start.Column)
	}
	fmt.Fprintf(buf, "%s: %s\n", paint(code, sev), paint(ansiBold, diag.Summary))
	if diag.Subject != nil {
		r := *diag.Subject
		if src, ok := d.sources[r.Filename]; ok {
			if ctx := d.context(r); ctx != "" {
				fmt.Fprintf(buf, "  in %s:\n", ctx)
			}
			writeSnippet(buf, src, r, func(s string) string { return paint(code, s) })
		}
	}
	if diag.Detail != "" {
		for _, line := range strings.Split(diag.Detail, "\n") {
			if line == "" {
				buf.WriteByte('\n')
				continue
			}
			fmt.Fprintf(buf, "  %s\n", line)
		}
	}
}

// maxSnippetLines bounds how much of a multi-line range is shown.
const maxSnippetLines = 5

func writeSnippet(buf *bytes.Buffer, src []byte, r hcl.Range, paint func(string) string) {
	lines := sourceLines(src, r)
	if len(lines) == 0 {
		return
	}
	width := len(fmt.Sprint(r.Start.Line + len(lines) - 1))
	offset := lineStartByte(src, r.Start.Byte)
	for i, line := range lines {
		n := r.Start.Line + i
		if i == maxSnippetLines {
			fmt.Fprintf(buf, "  %*s | ...\n", width, "")
			break
		}
		// Mark the part of this line inside the range.
		from, to := 0, len(line)
		if i == 0 {
			from = r.Start.Byte - offset
		}
		if n == r.End.Line {
			to = r.End.Byte - offset
		}
		from, to = clamp(from, 0, len(line)), clamp(to, 0, len(line))
		line, from, to = window(line, from, to)
		shown := printable(expandTabs(line))
		fmt.Fprintf(buf, "  %*d | %s\n", width, n, shown)
		pre := utf8.RuneCountInString(expandTabs(line[:from]))
		marked := utf8.RuneCountInString(expandTabs(line[:to])) - pre
		if marked < 1 {
			marked = 1
		}
		if strings.TrimSpace(line) != "" {
			fmt.Fprintf(buf, "  %*s | %s%s\n", width, "", strings.Repeat(" ", pre), paint(strings.Repeat("^", marked)))
		}
		offset += len(line) + 1
	}
}

// maxSnippetBytes bounds how much of one source line a snippet shows: a
// minified or garbage file can be a single line of megabytes.
const maxSnippetBytes = 240

// window cuts a line longer than maxSnippetBytes to the part around the
// range [from, to), marking the cuts with "…", and moves the range along.
func window(line string, from, to int) (string, int, int) {
	if len(line) <= maxSnippetBytes {
		return line, from, to
	}
	start := max(0, from-maxSnippetBytes/3)
	for start > 0 && !utf8.RuneStart(line[start]) {
		start--
	}
	end := min(len(line), start+maxSnippetBytes)
	for end < len(line) && !utf8.RuneStart(line[end]) {
		end++
	}
	shown, shift := line[start:end], -start
	if start > 0 {
		shown, shift = "…"+shown, shift+len("…")
	}
	if end < len(line) {
		shown += "…"
	}
	return shown, clamp(from+shift, 0, len(shown)), clamp(to+shift, 0, len(shown))
}

func clamp(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

func expandTabs(s string) string { return strings.ReplaceAll(s, "\t", "    ") }

// printable replaces each byte that is not UTF-8 with U+FFFD, one for one,
// so carets still line up (a binary file's bytes never reach the terminal).
func printable(s string) string { return strings.Map(func(r rune) rune { return r }, s) }

// lineStartByte is the byte offset of the start of the line holding offset.
func lineStartByte(src []byte, offset int) int {
	if offset > len(src) {
		offset = len(src)
	}
	i := bytes.LastIndexByte(src[:offset], '\n')
	return i + 1
}

// sourceLines returns the full source lines a range covers.
func sourceLines(src []byte, r hcl.Range) []string {
	if r.Start.Byte < 0 || r.Start.Byte > len(src) || r.End.Byte < r.Start.Byte {
		return nil
	}
	start := lineStartByte(src, r.Start.Byte)
	end := r.End.Byte
	if end > len(src) {
		end = len(src)
	}
	if end > start && end > r.Start.Byte && src[end-1] == '\n' {
		end-- // a range ending at a newline does not take in the next line
	}
	if i := bytes.IndexByte(src[end:], '\n'); i >= 0 {
		end += i
	} else {
		end = len(src)
	}
	text := strings.TrimSuffix(string(src[start:end]), "\r")
	lines := strings.Split(text, "\n")
	for i := range lines {
		lines[i] = strings.TrimSuffix(lines[i], "\r")
	}
	return lines
}
