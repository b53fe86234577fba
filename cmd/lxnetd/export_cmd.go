package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/lxnetd/lxnetd/internal/export"
	"github.com/lxnetd/lxnetd/internal/lxd"
)

// exportFlags are the options of lxnetd export.
type exportFlags struct {
	lf                loadFlags
	remotes           []string
	address           string
	clientCert        string
	clientKey         string
	serverFingerprint string
	project           string
	networks          []string
	output            string
}

func newExportCommand() *cobra.Command {
	var ef exportFlags
	cmd := &cobra.Command{
		Use:   "export [dir]",
		Short: "Write HCL for objects that already exist on a remote",
		Long: `export reads what exists on an LXD server and writes it as lxnetd
configuration — network, profile, node and forward blocks with adopt = true —
so that a hand-built LXD can be taken over: put the output in the
configuration directory, check it with lxnetd plan (it shows only the
ownership keys lxnetd adds to each adopted object), and apply.

Where from:
  lxnetd export                      the local LXD socket (LXD_SOCKET, LXD_DIR, snap
                                     or /var/lib/lxd), as the implicit remote "local"
  lxnetd export DIR                  every remote the configuration in DIR declares
                                     (or those named with --remote); objects DIR
                                     already declares are left out
  lxnetd export --address URL ...    one server (unix:///path/unix.socket or
                                     https://host:8443 with --client-cert, --client-key
                                     and --server-fingerprint); a remote block named
                                     --remote (default "local") is written first

What is exported: managed networks, profiles other than "default", instances
and network forwards that carry no lxnetd owner tag (objects owned by any
lxnetd configuration are skipped). Config keys are written verbatim except
those LXD fills in itself (volatile.*, and image.* of instances); devices
become device blocks, forward ports port blocks. --network limits the export
to those networks, their forwards, and the instances and profiles attached to
them.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := signalContext(cmd)
			defer cancel()
			sources, err := ef.sources(cmd, args)
			if err != nil {
				return err
			}
			var sets []export.Set
			for _, src := range sources {
				set, report, err := exportRemote(ctx, src, ef.networks)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.ErrOrStderr(), report)
				sets = append(sets, set)
			}
			out := export.Render(sets)
			if len(out) == 0 {
				out = []byte("# lxnetd export: nothing to export.\n")
			}
			return ef.write(cmd.OutOrStdout(), out)
		},
	}
	f := cmd.Flags()
	ef.lf.registerAs(cmd, "with DIR: ")
	f.StringArrayVar(&ef.remotes, "remote", nil, "with DIR: export only this remote (repeatable); with --address: the remote's name (default \"local\")")
	f.StringVar(&ef.address, "address", "", "export from this LXD server: unix:///path/unix.socket or https://host:8443")
	f.StringVar(&ef.clientCert, "client-cert", "", "with an https --address: PEM client certificate the server trusts")
	f.StringVar(&ef.clientKey, "client-key", "", "with an https --address: PEM key of the client certificate")
	f.StringVar(&ef.serverFingerprint, "server-fingerprint", "", "with an https --address: sha256 fingerprint of the server certificate (required)")
	f.StringVar(&ef.project, "project", "", "with --address: the LXD project (default \"default\")")
	f.StringArrayVar(&ef.networks, "network", nil, "export only this network, its forwards, and the instances and profiles attached to it (repeatable)")
	f.StringVarP(&ef.output, "output", "o", "-", "write to this file instead of standard output")
	return cmd
}

// exportSource is one remote to export and how to write its blocks.
type exportSource struct {
	remote   *spec.Remote
	declared *spec.Remote // what the configuration already declares there (nil: nothing)
	attr     bool         // blocks say remote = remote.NAME
	block    bool         // write a remote block for it
}

// sources resolves the command line into the remotes to export.
func (ef *exportFlags) sources(cmd *cobra.Command, args []string) ([]exportSource, error) {
	direct := ef.address != "" || ef.clientCert != "" || ef.clientKey != "" || ef.serverFingerprint != "" || ef.project != ""
	if len(args) > 0 {
		if direct {
			return nil, fmt.Errorf("give either a configuration directory or --address (and its certificate flags), not both")
		}
		cfg, err := load(cmd, args[0], &ef.lf)
		if err != nil {
			return nil, err
		}
		names := ef.remotes
		if len(names) == 0 {
			names = remoteNames(cfg)
		}
		var out []exportSource
		for _, name := range names {
			r, ok := cfg.Remotes[name]
			if !ok {
				return nil, fmt.Errorf("--remote %q: the configuration in %s declares no such remote (it has %s)",
					name, args[0], strings.Join(remoteNames(cfg), ", "))
			}
			// The implicit remote "local" has no declaration: blocks then need
			// no remote attribute either.
			out = append(out, exportSource{remote: r, declared: r, attr: r.Pos.File != ""})
		}
		return out, nil
	}
	if len(ef.lf.vars) > 0 || len(ef.lf.varFiles) > 0 {
		return nil, fmt.Errorf("--var and --var-file apply to a configuration directory; give one")
	}
	if len(ef.remotes) > 1 {
		return nil, fmt.Errorf("without a configuration directory, --remote names the one remote exported; got %d", len(ef.remotes))
	}
	name := "local"
	if len(ef.remotes) == 1 {
		name = ef.remotes[0]
	}
	r := &spec.Remote{Name: name, Address: ef.address, Project: ef.project, ServerFingerprint: ef.serverFingerprint}
	if r.Address == "" {
		r.Address = "unix://"
	}
	if r.Project == "" {
		r.Project = "default"
	}
	for _, p := range []struct {
		dst *string
		src string
	}{{&r.ClientCert, ef.clientCert}, {&r.ClientKey, ef.clientKey}} {
		if p.src == "" {
			continue
		}
		// The remote block is read relative to the configuration directory,
		// wherever the output goes: write absolute paths.
		abs, err := filepath.Abs(p.src)
		if err != nil {
			return nil, err
		}
		*p.dst = abs
	}
	if strings.HasPrefix(r.Address, "https://") && r.ServerFingerprint == "" {
		return nil, fmt.Errorf("an https --address needs --server-fingerprint (sha256 of the server certificate: openssl x509 -noout -fingerprint -sha256 -in server.crt); lxnetd never talks to an unverified server")
	}
	implicit := name == "local" && r.Address == "unix://" && r.Project == "default"
	return []exportSource{{remote: r, attr: !implicit, block: !implicit}}, nil
}

func (ef *exportFlags) write(stdout io.Writer, out []byte) error {
	if ef.output == "" || ef.output == "-" {
		_, err := stdout.Write(out)
		return err
	}
	if err := os.WriteFile(ef.output, out, 0o644); err != nil {
		return fmt.Errorf("writing the export: %w", err)
	}
	return nil
}

// exportRemote observes one remote and selects what to export; the report
// says what was exported and what was skipped.
func exportRemote(ctx context.Context, src exportSource, networks []string) (export.Set, string, error) {
	r, err := lxd.Connect(ctx, src.remote)
	if err != nil {
		return export.Set{}, "", err
	}
	defer r.Close()
	set, report, err := export.Remote(ctx, r, src.declared, networks)
	if err != nil {
		return export.Set{}, "", err
	}
	set.RemoteAttr = src.attr
	if src.block {
		set.RemoteBlock = src.remote
	}
	return set, report, nil
}
