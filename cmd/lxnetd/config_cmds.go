package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/lxnetd/lxnetd/config"
	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/cobra"
)

func newValidateCommand() *cobra.Command {
	var vf varFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "validate [dir]",
		Short: "Check a configuration directory without contacting LXD",
		Long: `Validate loads and evaluates every *.hcl file of the directory (default
/etc/lxnet.d) exactly as plan and the daemon do, without contacting LXD.
It prints nothing and exits 0 when the configuration is valid; otherwise it
prints every problem with file:line:col, the source with the range marked and
a hint, and exits 1.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := vf.options()
			if err != nil {
				return err
			}
			_, diags := config.Load(configDirArg(args), opts)
			if asJSON {
				if err := diags.WriteJSON(cmd.OutOrStdout()); err != nil {
					return err
				}
			} else if diags.Len() > 0 {
				w := cmd.ErrOrStderr()
				if err := diags.WriteText(w, colorFor(w)); err != nil {
					return err
				}
			}
			if diags.HasErrors() {
				return exitError{1}
			}
			return nil
		},
	}
	vf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON ({valid, error_count, warning_count, diagnostics})")
	return cmd
}

func newFmtCommand() *cobra.Command {
	var check, diff bool
	cmd := &cobra.Command{
		Use:   "fmt [dir|file]",
		Short: "Rewrite configuration files in canonical format",
		Long: `Fmt rewrites every configuration file of the directory (default /etc/lxnet.d),
or the one file given, in canonical HCL layout and prints the names of the
files it changed.

  --check  change nothing; list the files that are not canonical and exit 1 if any
  --diff   print a unified diff of each change (with --check, change nothing)

A file with syntax errors is left alone; its diagnostics are printed and fmt
exits 1.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runFmt(cmd.OutOrStdout(), cmd.ErrOrStderr(), configDirArg(args), check, diff)
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "do not write; exit 1 and list the files that would change")
	cmd.Flags().BoolVar(&diff, "diff", false, "print a unified diff of every change")
	return cmd
}

func runFmt(stdout, stderr io.Writer, target string, check, diff bool) error {
	info, err := os.Stat(target)
	if err != nil {
		return fmt.Errorf("reading %s: %w", target, err)
	}
	var paths []string
	if info.IsDir() {
		names, err := config.Files(target)
		if err != nil {
			return err
		}
		for _, n := range names {
			paths = append(paths, filepath.Join(target, n))
		}
	} else {
		paths = []string{target}
	}
	failed, changed := false, false
	for _, path := range paths {
		src, out, diags, err := config.FormatFile(path)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		if diags.HasErrors() {
			if err := diags.WriteText(stderr, colorFor(stderr)); err != nil {
				return err
			}
			failed = true
			continue
		}
		if bytes.Equal(src, out) {
			continue
		}
		changed = true
		if diff {
			ud := difflib.UnifiedDiff{
				A: difflib.SplitLines(string(src)), B: difflib.SplitLines(string(out)),
				FromFile: path, ToFile: path + " (formatted)", Context: 3,
			}
			text, err := difflib.GetUnifiedDiffString(ud)
			if err != nil {
				return fmt.Errorf("diffing %s: %w", path, err)
			}
			fmt.Fprint(stdout, text)
		}
		if check {
			if !diff {
				fmt.Fprintln(stdout, path)
			}
			continue
		}
		if err := replaceFile(path, out); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		if !diff {
			fmt.Fprintln(stdout, path)
		}
	}
	if failed || (check && changed) {
		return exitError{1}
	}
	return nil
}

// replaceFile writes data to a dotfile beside path and renames it over path,
// so a crash never leaves a half-written file, and a running daemon (which
// skips dotfiles and reloads on the rename) only ever sees whole files. The
// file keeps its permissions; a symlink is resolved so the link survives.
func replaceFile(path string, data []byte) error {
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return err
	}
	st, err := os.Stat(target)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), ".lxnetd-fmt-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), target)
}
