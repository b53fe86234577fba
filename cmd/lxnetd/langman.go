package main

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/cpuguy83/go-md2man/v2/md2man"
)

// The configuration language has one reference: the "Configuration
// language" section of README.md. lxnetd.hcl(5) is rendered from it at
// packaging time (gen-docs --readme), so the man page cannot drift from the
// README; languageManPage fails when the section is missing rather than ship
// an empty page.

// languageSection is the heading the reference lives under in README.md.
const languageSection = "## Configuration language"

// languageReference returns the README's "Configuration language" section,
// without its heading: everything up to the next second-level heading.
func languageReference(readme []byte) (string, error) {
	s := string(readme)
	start := strings.Index(s, "\n"+languageSection+"\n")
	if start < 0 {
		return "", fmt.Errorf("README has no %q section", languageSection)
	}
	body := s[start+len(languageSection)+2:]
	if end := regexp.MustCompile(`(?m)^## `).FindStringIndex(body); end != nil {
		body = body[:end[0]]
	}
	return strings.TrimSpace(body), nil
}

var (
	// [text](#anchor): a link within the README, which the package ships.
	localLink = regexp.MustCompile(`\[([^\]]+)\]\(#[^)]*\)`)
	// ### Heading: a section of the reference, a section of the page.
	subHeading = regexp.MustCompile(`(?m)^### (.+)$`)
)

// tablesAsDefinitions turns each markdown table into a definition list: a
// term per row (its first cell) defined by "Header: cell" for the other cells.
// A man page is read on an 80-column terminal, where tbl cannot wrap a wide
// table (groff warns "table wider than line width").
func tablesAsDefinitions(md string) string {
	var out []string
	var header []string
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			header = nil
			out = append(out, line)
			continue
		}
		cells := tableCells(line)
		switch {
		case header == nil:
			header = cells
		case strings.Trim(strings.Join(cells, ""), "-: ") == "":
			// the |---|---| line
		default:
			var def []string
			for i, c := range cells[1:] {
				if i+1 < len(header) {
					c = header[i+1] + ": " + c
				}
				def = append(def, c)
			}
			out = append(out, cells[0], ": "+strings.Join(def, ". "), "")
		}
	}
	return strings.Join(out, "\n")
}

// tableCells splits a markdown table row; "\|" is a literal bar.
func tableCells(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimSuffix(strings.TrimPrefix(row, "|"), "|")
	row = strings.ReplaceAll(row, `\|`, "\x00")
	cells := strings.Split(row, "|")
	for i, c := range cells {
		cells[i] = strings.ReplaceAll(strings.TrimSpace(c), "\x00", "|")
	}
	return cells
}

// languageManPage renders lxnetd.hcl(5) from README.md: NAME and SYNOPSIS,
// the reference as DESCRIPTION with its subsections as sections, then FILES
// and SEE ALSO. date is the build's SOURCE_DATE_EPOCH, so two builds of one
// commit give the same page.
func languageManPage(readme []byte, version string, date time.Time) ([]byte, error) {
	ref, err := languageReference(readme)
	if err != nil {
		return nil, err
	}
	ref = localLink.ReplaceAllString(ref, "$1 (in /usr/share/doc/lxnetd/README.md.gz)")
	ref = tablesAsDefinitions(ref)
	ref = subHeading.ReplaceAllStringFunc(ref, func(h string) string {
		return "# " + strings.ToUpper(strings.TrimPrefix(h, "### "))
	})
	var b bytes.Buffer
	fmt.Fprintf(&b, "%% \"LXNETD.HCL\" \"5\" %q \"lxnetd %s\" \"lxnetd manual\"\n", date.UTC().Format("Jan 2006"), version)
	b.WriteString(`# NAME
lxnetd.hcl - the configuration language of lxnetd

# SYNOPSIS
**/etc/lxnet.d/*.hcl**, **/etc/lxnet.d/*.vars.hcl**

# DESCRIPTION
`)
	b.WriteString(ref)
	b.WriteString(`

# FILES
**/etc/lxnet.d/** is the configuration directory of **lxnetd run** (the
lxnetd service) and the default of every command. **/etc/lxnetd/** holds
client certificates and keys for HTTPS remotes. **/usr/share/doc/lxnetd/examples/**
has one directory per scenario (floating IP, PROXY protocol, NAT, loopback
proxy, several hosts, macvlan and physical NICs, VXLAN, a cluster, a rolling
upgrade).

# SEE ALSO
**lxnetd**(1), **lxnetd-validate**(1), **lxnetd-fmt**(1), **lxnetd-plan**(1),
**lxnetd-apply**(1), **lxnetd-run**(1), **lxnetd-export**(1)
`)
	return asciiRoff(md2man.Render(b.Bytes())), nil
}

// asciiRoff writes every non-ASCII character as a groff escape (\[u2192]
// for →), as preconv(1) would: the page then reads the same whatever
// encoding man assumes.
func asciiRoff(roff []byte) []byte {
	var b bytes.Buffer
	for _, r := range string(roff) {
		if r < 0x80 {
			b.WriteRune(r)
			continue
		}
		fmt.Fprintf(&b, "\\[u%04X]", r)
	}
	return b.Bytes()
}
