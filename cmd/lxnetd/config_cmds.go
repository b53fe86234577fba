package main

import "github.com/spf13/cobra"

func newValidateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate [dir]",
		Short: "Check a configuration directory without contacting LXD",
		Args:  cobra.MaximumNArgs(1),
		RunE:  notYet("validate"),
	}
}

func newFmtCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "fmt [dir]",
		Short: "Rewrite configuration files in canonical format",
		Args:  cobra.MaximumNArgs(1),
		RunE:  notYet("fmt"),
	}
}
