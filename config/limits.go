package config

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// Limits on what the loader reads, checked before the HCL parser sees a byte.
// HCL's parser is recursive (a file of 70 000 nested parentheses overflows
// the Go stack, which no recover catches and which kills the daemon) and
// reports every bad token of a binary file (10 MB of random bytes gave
// 368 000 diagnostics and 1 GB of memory). The numbers are far above any
// hand-written configuration (HCL parses about a megabyte a second, and
// 1 MiB declares thousands of nodes); README "Configuration language" lists
// them.
const (
	// MaxFileBytes is the largest configuration or variables file read.
	MaxFileBytes = 1 << 20
	// MaxTotalBytes is the most all files of one load may hold together.
	MaxTotalBytes = 4 << 20
	// MaxNesting is how deeply brackets, braces, parentheses, template
	// interpolations and directives, unary operators, chains of binary
	// operators and conditionals may nest. Real configurations stay below 20.
	MaxNesting = 256
	// maxParseDiagnostics is how many diagnostics of one file's parse are
	// kept; the parser of a garbage file reports one per bad token.
	maxParseDiagnostics = 100
)

// readLimited reads a file of fsys, refusing one larger than MaxFileBytes
// without reading more than that.
func readLimited(fsys fs.FS, name string) ([]byte, bool, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	return readAtMost(f)
}

// readFileLimited is readLimited for a path of the operating system
// (--var-file).
func readFileLimited(path string) ([]byte, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	return readAtMost(f)
}

// readAtMost returns up to MaxFileBytes of r; tooBig reports that r held more.
func readAtMost(r io.Reader) (src []byte, tooBig bool, err error) {
	src, err = io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, false, err
	}
	if len(src) > MaxFileBytes {
		return nil, true, nil
	}
	return src, false, nil
}

// readChecked reads the file name with read (readLimited or
// readFileLimited) and reports one that cannot be read (summary, then the
// error and hint) or is too large; ok is false then.
func (l *loader) readChecked(name string, read func() ([]byte, bool, error), summary, hint string) (src []byte, ok bool) {
	src, tooBig, err := read()
	switch {
	case err != nil:
		l.errorf(nil, summary, "%s.%s", errText(err), hint)
		return nil, false
	case tooBig:
		l.add(tooBigError(name))
		return nil, false
	}
	return src, true
}

func tooBigError(name string) *hcl.Diagnostic {
	pos := hcl.Range{Filename: name, Start: hcl.InitialPos, End: hcl.InitialPos}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Configuration file too large", Subject: &pos,
		Detail: fmt.Sprintf("%s is larger than %d MiB, the most lxnetd reads from one file. Is it a configuration file at all (a binary or a log written to a *.hcl name)? Split a really large configuration into several files, or generate fewer, larger objects with for_each.", name, MaxFileBytes>>20)}
}

func tooMuchError(name string, total int) *hcl.Diagnostic {
	pos := hcl.Range{Filename: name, Start: hcl.InitialPos, End: hcl.InitialPos}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Configuration too large", Subject: &pos,
		Detail: fmt.Sprintf("With %s the files read hold %d bytes, more than %d MiB, the most lxnetd reads in one load. Remove files that are not configuration, or generate repeated objects with for_each.", name, total, MaxTotalBytes>>20)}
}

// checkSource refuses, before parsing, a file that is not UTF-8 text or that
// nests deeper than MaxNesting; nil when src may be given to the parser.
func checkSource(name string, src []byte) *hcl.Diagnostic {
	if !utf8.Valid(src) {
		at := firstInvalidUTF8(src)
		return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Configuration file is not UTF-8 text",
			Subject: rangeAt(name, src, at),
			Detail:  fmt.Sprintf("The byte 0x%02x at offset %d is not valid UTF-8; lxnetd reads configuration files as UTF-8 text. Is %s a binary file, or saved in another encoding? Remove it from the directory, or convert it to UTF-8.", src[at], at, name)}
	}
	if at := nestingExceeded(src); at >= 0 {
		return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Expression nested too deeply",
			Subject: rangeAt(name, src, at),
			Detail:  fmt.Sprintf("Here brackets, braces, parentheses, templates, operators or conditionals nest (or chain) more than %d levels deep, the most lxnetd accepts (a parser working that deep could exhaust the stack). Flatten the expression: move inner parts into locals.", MaxNesting)}
	}
	return nil
}

func firstInvalidUTF8(src []byte) int {
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(src)
}

// rangeAt is the one-character range at byte offset at, with the line and
// column (in characters) HCL would give it.
func rangeAt(name string, src []byte, at int) *hcl.Range {
	line, col := 1, 1
	for i := 0; i < at; {
		if src[i] == '\n' {
			line, col = line+1, 1
			i++
			continue
		}
		_, size := utf8.DecodeRune(src[i:])
		i += size
		col++
	}
	start := hcl.Pos{Line: line, Column: col, Byte: at}
	end := start
	if at < len(src) {
		end = hcl.Pos{Line: line, Column: col + 1, Byte: at + 1}
	}
	return &hcl.Range{Filename: name, Start: start, End: end}
}
