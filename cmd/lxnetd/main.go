// Command lxnetd keeps LXD networking true to a directory of HCL files.
//
// This package is the wiring and nothing else: the cobra command tree, flags
// (flags.go), how commands reach remotes (remotes.go), the write path shared
// by apply and destroy (write.go: gate, prompt, interrupts, outcome), saved
// plans, and the daemon's connection to LXD. Decisions live in config
// (language), engine (plans), internal/export and internal/daemon.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxnetd/lxnetd/internal/redact"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// defaultConfigDir is where the packaged daemon and the CLI look by default.
const defaultConfigDir = "/etc/lxnet.d"

// exitError carries an exit code to main without printing anything more:
// the command already reported what went wrong.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	root := newRootCommand()
	root.SetArgs(singleDashLongFlags(root, os.Args[1:]))
	if err := root.Execute(); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "Error:", cliSecrets.Scrubber().String(err.Error()))
		os.Exit(1)
	}
}

// cliSecrets are the sensitive strings of the configuration a command
// loaded: the last net under the error it ends with (a connection error
// naming a remote address computed from a sensitive variable, say). Plans
// and write errors are scrubbed where they are made (package engine).
var cliSecrets redact.Live

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "lxnetd",
		Short: "Keep LXD networking true to a directory of HCL files",
		Long: `lxnetd turns a directory of HCL files (default /etc/lxnet.d) into the desired
networks, profiles, instances, proxy devices and network forwards of one or more
LXD servers, shows what it would change (plan), applies it (apply), and as a
systemd service (run) keeps every remote converged.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newVersionCommand(),
		newValidateCommand(),
		newFmtCommand(),
		newPlanCommand(),
		newApplyCommand(),
		newDestroyCommand(),
		newExportCommand(),
		newRunCommand(),
		newReloadCommand(),
		newStatusCommand(),
		newGenDocsCommand(),
	)
	return root
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the lxnetd version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "lxnetd %s\n", lxnetdVersion())
			return nil
		},
	}
}

// lxnetdVersion is the version set at build time, or "dev-<commit>" for a
// development build (saved plans record it).
func lxnetdVersion() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok && v == "dev" {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v = "dev-" + s.Value[:12]
			}
		}
	}
	return v
}

// singleDashLongFlags accepts Terraform's spelling of long flags with one
// dash (fmt -check, plan -json): an argument "-name" or "-name=value" whose
// name is a long flag of the command being run becomes "--name...". Anything
// else, and everything after "--", is left as it is.
func singleDashLongFlags(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil {
		return args
	}
	out := make([]string, len(args))
	copy(out, args)
	takesValue := func(a string) bool { // a is "--name" or "-n" without "=value"
		f := cmd.Flags().Lookup(strings.TrimPrefix(a, "--"))
		if !strings.HasPrefix(a, "--") {
			if len(a) != 2 {
				return false // ShorthandLookup panics on longer names
			}
			f = cmd.Flags().ShorthandLookup(a[1:])
		}
		return f != nil && f.NoOptDefVal == ""
	}
	for i := 0; i < len(out); i++ {
		a := out[i]
		if a == "--" {
			break
		}
		if len(a) >= 3 && a[0] == '-' && a[1] != '-' {
			name, _, _ := strings.Cut(a[1:], "=")
			if len(name) > 1 && cmd.Flags().Lookup(name) != nil {
				out[i] = "-" + a
				a = out[i]
			}
		}
		if strings.HasPrefix(a, "-") && !strings.Contains(a, "=") && takesValue(a) {
			i++ // the flag's value is left as it is, even if it starts with "-"
		}
	}
	return out
}

// configDirArg returns the directory a command works on: its argument or the default.
func configDirArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return defaultConfigDir
}
