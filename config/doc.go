// Package config loads a directory of HCL files (the lxnetd configuration
// language) into a spec.Config: the desired state of every LXD remote as
// plain Go values.
//
// It owns everything about the language: reading the *.hcl and *.vars.hcl
// files, variables (files, --var, --var-file, LXNET_VAR_* environment),
// dependency-ordered evaluation with for_each/count and functions, semantic
// validation, diagnostics with source snippets, and canonical formatting.
// Loading is all-or-nothing: either every file evaluates and validates, or
// the result is nil and the diagnostics list every problem found.
//
// It is the only package that imports HCL, and it must not import the LXD
// client or contact LXD: `lxnetd validate` works on any machine.
package config
