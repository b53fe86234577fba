// Command lxnetd keeps LXD networking true to a directory of HCL files.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
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
	if err := root.Execute(); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

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
			v := version
			if info, ok := debug.ReadBuildInfo(); ok && v == "dev" {
				for _, s := range info.Settings {
					if s.Key == "vcs.revision" && len(s.Value) >= 12 {
						v = "dev-" + s.Value[:12]
					}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "lxnetd %s\n", v)
			return nil
		},
	}
}

// configDirArg returns the directory a command works on: its argument or the default.
func configDirArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return defaultConfigDir
}
