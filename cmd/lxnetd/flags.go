package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxnetd/lxnetd/config"
)

// varFlags are the --var and --var-file flags every command that loads a
// configuration accepts (validate, plan, apply, run).
type varFlags struct {
	vars     []string
	varFiles []string
}

func (f *varFlags) register(cmd *cobra.Command) {
	f.registerAs(cmd, "")
}

// registerAs registers the flags with a note on when they apply (export
// takes them only with a configuration directory).
func (f *varFlags) registerAs(cmd *cobra.Command, note string) {
	cmd.Flags().StringArrayVar(&f.vars, "var", nil, note+"set a variable: --var name=value (repeatable; non-string types in HCL syntax, e.g. --var 'ports=[80,443]')")
	cmd.Flags().StringArrayVar(&f.varFiles, "var-file", nil, note+"read variable values from an HCL file of name = value lines (repeatable)")
}

// options turns the flags and the process environment (LXNET_VAR_name) into
// config.Options.
func (f *varFlags) options() (config.Options, error) {
	return configOptions(f.vars, f.varFiles)
}

// colorFor says whether to color output for w: only a terminal, and never
// when NO_COLOR is set or TERM is dumb. The one colour policy of every
// command.
func colorFor(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// configOptions turns --var and --var-file into config.Options; LXNET_VAR_*
// environment variables are read as well.
func configOptions(vars, varFiles []string) (config.Options, error) {
	o := config.Options{Vars: map[string]string{}, VarFiles: varFiles, Environ: os.Environ()}
	for _, v := range vars {
		name, value, ok := strings.Cut(v, "=")
		if !ok || name == "" {
			return o, fmt.Errorf("invalid --var %q: write --var name=value", v)
		}
		o.Vars[name] = value
	}
	return o, nil
}
