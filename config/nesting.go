package config

import "bytes"

// nestingExceeded returns the byte offset at which src first nests deeper
// than MaxNesting, or -1. It is a single pass with memory bounded by
// MaxNesting, run before HCL's recursive parser so that no input can make
// that parser exhaust the stack.
//
// It knows just enough of HCL's lexical structure to count what the parser
// recurses on: (, [ and { in expressions and bodies; "..." strings and
// heredocs, whose ${ and %{ open expressions again and whose %{if}/%{for}
// directives nest until %{endif}/%{endfor}; runs of the unary operators !
// and -; chains of binary operators, splats and ?: conditionals, whose
// parse trees are as deep as the chain is long. Comments are skipped. It may count a
// little more than the parser would (a binary minus, an unclosed directive),
// never less for what makes the parser recurse.
func nestingExceeded(src []byte) int {
	type frame struct {
		kind  byte   // 0 file body, '(' '[' '{' brackets, '$' interpolation, '"' string, '<' heredoc
		id    []byte // heredoc delimiter
		extra int    // conditionals or directives open in this frame
	}
	stack := make([]frame, 1, 16)
	extra, unary := 0, 0 // sums of frame.extra; current run of unary operators
	depth := func() int { return len(stack) - 1 + extra + unary }
	push := func(f frame) bool {
		stack = append(stack, f)
		return depth() <= MaxNesting
	}
	pop := func() {
		extra -= stack[len(stack)-1].extra
		stack = stack[:len(stack)-1]
	}
	top := func() *frame { return &stack[len(stack)-1] }
	lineStart := true
	for i := 0; i < len(src); i++ {
		c := src[i]
		atLineStart := lineStart
		lineStart = c == '\n'
		switch f := top(); f.kind {
		case '"', '<':
			if f.kind == '<' && atLineStart && heredocEnds(src[i:], f.id) {
				pop()
				i-- // the delimiter's line is read as code again
				lineStart = true
				continue
			}
			switch {
			case c == '\\' && f.kind == '"':
				i++ // an escape: \" does not close the string
			case c == '\n' && f.kind == '"':
				pop() // a quoted string cannot span lines: the parser stops it here too
			case c == '"' && f.kind == '"':
				pop()
			case (c == '$' || c == '%') && i+1 < len(src) && src[i+1] == c && i+2 < len(src) && src[i+2] == '{':
				i += 2 // $${ and %%{ are literal
			case (c == '$' || c == '%') && i+1 < len(src) && src[i+1] == '{':
				if c == '%' {
					switch directiveKeyword(src[i+2:]) {
					case "if", "for":
						f.extra++
						extra++
					case "endif", "endfor":
						if f.extra > 0 {
							f.extra--
							extra--
						}
					}
				}
				i++
				if !push(frame{kind: '$'}) {
					return i - 1
				}
			}
			continue
		}
		// Code: a file body, brackets or an interpolation.
		if c == ' ' || c == '\t' || c == '\r' {
			continue
		}
		if c == '!' && (i+1 >= len(src) || src[i+1] != '=') || c == '-' {
			unary++
			if c == '-' {
				// Also a binary minus: see binaryOperator.
				top().extra++
				extra++
			}
			if depth() > MaxNesting {
				return i
			}
			continue
		}
		unary = 0
		if n := binaryOperator(src[i:]); n > 0 {
			// A chain of binary operators is a tree as deep as it is
			// long: evaluating 500 000 "+1" overflows the stack.
			top().extra++
			extra++
			if depth() > MaxNesting {
				return i
			}
			i += n - 1
			continue
		}
		switch c {
		case '#':
			i = skipLine(src, i)
		case '/':
			if i+1 < len(src) && src[i+1] == '/' {
				i = skipLine(src, i)
			} else if i+1 < len(src) && src[i+1] == '*' {
				if end := bytes.Index(src[i+2:], []byte("*/")); end >= 0 {
					i += 2 + end + 1
				} else {
					return -1 // an unclosed comment: the parser stops there
				}
			}
		case '"':
			if !push(frame{kind: '"'}) {
				return i
			}
		case '<':
			if id, n := heredocStart(src[i:]); id != nil {
				if !push(frame{kind: '<', id: id}) {
					return i
				}
				i += n - 1
				lineStart = true
			}
		case '(', '[', '{':
			if c == '[' && i+1 < len(src) && src[i+1] == '*' {
				// A splat nests the rest of the chain: x[*][*]... is
				// as deep as it is long (counted like an operator
				// of the enclosing expression).
				top().extra++
				extra++
			}
			if !push(frame{kind: c}) {
				return i
			}
		case ')', ']', '}':
			if len(stack) > 1 {
				pop()
			}
		case '?':
			top().extra++
			extra++
			if depth() > MaxNesting {
				return i
			}
		case ',', '\n':
			// A list item or, in a body or object, a line ends the
			// conditionals in it.
			if f := top(); c == ',' || f.kind == 0 || f.kind == '{' {
				extra -= f.extra
				f.extra = 0
			}
		}
	}
	return -1
}

// binaryOperator is the length of the binary operator at the start of b
// (+ * / % && || == != < > <= >=), 0 for none. It is asked after comments
// and heredocs were recognised.
func binaryOperator(b []byte) int {
	two := len(b) > 1
	switch b[0] {
	case '+', '*', '%':
		return 1
	case '/':
		if two && (b[1] == '/' || b[1] == '*') {
			return 0
		}
		return 1
	case '&', '|':
		if two && b[1] == b[0] {
			return 2
		}
	case '=', '!':
		if two && b[1] == '=' {
			return 2
		}
	case '<':
		if _, n := heredocStart(b); n > 0 {
			return 0
		}
		fallthrough
	case '>':
		if two && b[1] == '=' {
			return 2
		}
		return 1
	}
	return 0
}

// skipLine returns the offset of the newline ending the line at i (or the
// last byte): comments end at the line's end, which is still read.
func skipLine(src []byte, i int) int {
	if end := bytes.IndexByte(src[i:], '\n'); end >= 0 {
		return i + end - 1
	}
	return len(src) - 1
}

// heredocStart recognises <<ID or <<-ID followed by a newline at the start
// of b; it returns the delimiter and the length up to and including the
// newline.
func heredocStart(b []byte) ([]byte, int) {
	n := 2
	if len(b) < 3 || b[1] != '<' {
		return nil, 0
	}
	if b[n] == '-' {
		n++
	}
	start := n
	for n < len(b) && (isIdentByte(b[n])) {
		n++
	}
	if n == start {
		return nil, 0
	}
	id := b[start:n]
	if n < len(b) && b[n] == '\r' {
		n++
	}
	if n >= len(b) || b[n] != '\n' {
		return nil, 0
	}
	return id, n + 1
}

// heredocEnds reports whether the line at the start of b closes a heredoc
// with delimiter id (indentation allowed, as for <<-).
func heredocEnds(b, id []byte) bool {
	b = bytes.TrimLeft(b, " \t")
	if !bytes.HasPrefix(b, id) {
		return false
	}
	rest := b[len(id):]
	return len(rest) == 0 || rest[0] == '\n' || rest[0] == '\r'
}

// directiveKeyword is the keyword of a template directive whose body starts
// at b (after "%{"), e.g. "if" for "%{~ if x }".
func directiveKeyword(b []byte) string {
	if len(b) > 0 && b[0] == '~' {
		b = b[1:]
	}
	b = bytes.TrimLeft(b, " \t")
	n := 0
	for n < len(b) && n < 8 && isIdentByte(b[n]) {
		n++
	}
	return string(b[:n])
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
