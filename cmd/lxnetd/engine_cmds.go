package main

import "github.com/spf13/cobra"

func newPlanCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "plan [dir]",
		Short: "Show what apply would change on every remote",
		Args:  cobra.MaximumNArgs(1),
		RunE:  notYet("plan"),
	}
}

func newApplyCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "apply [dir]",
		Short: "Make every remote match the configuration",
		Args:  cobra.MaximumNArgs(1),
		RunE:  notYet("apply"),
	}
}

func newExportCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "export",
		Short: "Write HCL for objects that already exist on a remote",
		RunE:  notYet("export"),
	}
}
