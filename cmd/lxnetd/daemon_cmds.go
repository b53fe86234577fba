package main

import "github.com/spf13/cobra"

func newRunCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the daemon: watch the directory and LXD, converge continuously",
		Args:  cobra.NoArgs,
		RunE:  notYet("run"),
	}
}

func newReloadCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "reload",
		Short: "Ask the running daemon to reload its configuration and report the result",
		Args:  cobra.NoArgs,
		RunE:  notYet("reload"),
	}
}

func newStatusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the running daemon's per-remote state",
		Args:  cobra.NoArgs,
		RunE:  notYet("status"),
	}
}
