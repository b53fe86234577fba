package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestLanguageManPage renders lxnetd.hcl(5) from the repository's README and
// checks that the page carries the whole reference: every subsection as a
// section, every block of the Blocks table, and that groff formats it for an
// 80-column terminal without a warning (lintian runs the same check).
func TestLanguageManPage(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	page, err := languageManPage(readme, "1.2.3", date)
	if err != nil {
		t.Fatal(err)
	}
	man := string(page)
	if !strings.Contains(man, "\n.TH \"LXNETD.HCL\" \"5\" \"Nov 2026\" \"lxnetd 1.2.3\" \"lxnetd manual\"\n") {
		t.Errorf("no title line in:\n%.200s", man)
	}
	ref, err := languageReference(readme)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?m)^### (.+)$`).FindAllStringSubmatch(ref, -1) {
		if !strings.Contains(man, ".SH "+strings.ToUpper(m[1])) {
			t.Errorf("the page lacks the section %q", m[1])
		}
	}
	blocks := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|").FindAllStringSubmatch(ref, -1)
	if len(blocks) < 9 {
		t.Fatalf("found %d rows in the README's Blocks table", len(blocks))
	}
	for _, b := range blocks {
		if !regexp.MustCompile(`(?m)^\\fB` + b[1] + `\\fR$`).MatchString(man) {
			t.Errorf("the page does not define the block %q", b[1])
		}
	}
	if _, err := languageManPage([]byte("# x\n\n## Other\n"), "1", date); err == nil {
		t.Errorf("a README without the section gave a page")
	}

	if _, err := exec.LookPath("groff"); err != nil {
		t.Fatal("groff not installed, so the page's formatting cannot be checked: install groff-base (make deb-tools does)")
	}
	p := filepath.Join(t.TempDir(), "lxnetd.hcl.5")
	if err := os.WriteFile(p, page, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", "groff -man -Tutf8 -ww -z "+p)
	cmd.Env = append(os.Environ(), "MANWIDTH=80")
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("groff warns about the page: %v\n%s", err, out)
	}
}
