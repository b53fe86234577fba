package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newGenDocsCommand writes the man pages and shell completions the .deb
// ships, generated from the command tree so they never drift from --help.
// It is hidden: packagers run it, users read the results.
func newGenDocsCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "gen-docs DIR",
		Short:  "Write man pages (DIR/man1) and shell completions (DIR/completions) for packaging",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
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
}
