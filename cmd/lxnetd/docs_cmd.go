package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newGenDocsCommand writes the man pages and shell completions the .deb
// ships, generated from the command tree so they never drift from --help.
// It is hidden: packagers run it, users read the results. With --readme it
// also writes lxnetd.hcl(5) (DIR/man5) from the README's language reference.
// Dates in the pages come from SOURCE_DATE_EPOCH when set (reproducible
// builds).
func newGenDocsCommand() *cobra.Command {
	var readme string
	cmd := &cobra.Command{
		Use:    "gen-docs DIR",
		Short:  "Write man pages (DIR/man1, DIR/man5) and shell completions (DIR/completions) for packaging",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if readme != "" {
				if err := writeLanguageManPage(readme, filepath.Join(args[0], "man5")); err != nil {
					return err
				}
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true // reproducible builds: no date in the pages
			man := filepath.Join(args[0], "man1")
			comp := filepath.Join(args[0], "completions")
			for _, d := range []string{man, comp} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					return err
				}
			}
			hdr := &doc.GenManHeader{Title: "LXNETD", Section: "1", Source: "lxnetd " + version, Manual: "lxnetd manual"}
			if err := doc.GenManTree(root, hdr, man); err != nil {
				return fmt.Errorf("writing man pages: %w", err)
			}
			gens := map[string]func(string) error{
				"lxnetd.bash": func(p string) error { return root.GenBashCompletionFileV2(p, true) },
				"_lxnetd":     root.GenZshCompletionFile,
				"lxnetd.fish": func(p string) error { return root.GenFishCompletionFile(p, true) },
			}
			for name, gen := range gens {
				if err := gen(filepath.Join(comp, name)); err != nil {
					return fmt.Errorf("writing %s: %w", name, err)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&readme, "readme", "", "README.md to render lxnetd.hcl(5) from (its \"Configuration language\" section)")
	return cmd
}

// writeLanguageManPage renders lxnetd.hcl(5) from the README into dir.
func writeLanguageManPage(readme, dir string) error {
	src, err := os.ReadFile(readme)
	if err != nil {
		return err
	}
	date := time.Now()
	if epoch := os.Getenv("SOURCE_DATE_EPOCH"); epoch != "" {
		sec, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil {
			return fmt.Errorf("invalid SOURCE_DATE_EPOCH %q: %w", epoch, err)
		}
		date = time.Unix(sec, 0)
	}
	page, err := languageManPage(src, version, date)
	if err != nil {
		return fmt.Errorf("%s: %w", readme, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "lxnetd.hcl.5"), page, 0o644)
}
