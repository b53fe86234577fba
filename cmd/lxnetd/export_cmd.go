package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxnetd/lxnetd/config"
	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
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
			var sets []config.ExportSet
			for _, src := range sources {
				set, report, err := exportRemote(ctx, src, ef.networks)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.ErrOrStderr(), report)
				sets = append(sets, set)
			}
			out := config.Export(sets)
			if len(out) == 0 {
				out = []byte("# lxnetd export: nothing to export.\n")
			}
			return ef.write(cmd.OutOrStdout(), out)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&ef.lf.vars, "var", nil, "with DIR: set a variable of the configuration (name=value; repeatable)")
	f.StringArrayVar(&ef.lf.varFiles, "var-file", nil, "with DIR: read variable values from a file (repeatable)")
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
			names = slices.Sorted(maps.Keys(cfg.Remotes))
		}
		var out []exportSource
		for _, name := range names {
			r, ok := cfg.Remotes[name]
			if !ok {
				return nil, fmt.Errorf("--remote %q: the configuration in %s declares no such remote (it has %s)",
					name, args[0], strings.Join(slices.Sorted(maps.Keys(cfg.Remotes)), ", "))
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

// exportRemote reads one remote with bulk list calls and selects what to
// export. The report says what was exported and what was skipped.
func exportRemote(ctx context.Context, src exportSource, networks []string) (config.ExportSet, string, error) {
	r, err := lxd.Connect(ctx, src.remote)
	if err != nil {
		return config.ExportSet{}, "", err
	}
	defer r.Close()
	var obs exportObserved
	if obs.networks, err = r.ListNetworks(ctx); err != nil {
		return config.ExportSet{}, "", fmt.Errorf("exporting remote %q: %w", src.remote.Name, err)
	}
	if obs.profiles, err = r.ListProfiles(ctx); err != nil {
		return config.ExportSet{}, "", fmt.Errorf("exporting remote %q: %w", src.remote.Name, err)
	}
	if obs.instances, err = r.ListInstances(ctx); err != nil {
		return config.ExportSet{}, "", fmt.Errorf("exporting remote %q: %w", src.remote.Name, err)
	}
	for _, n := range obs.networks {
		if !n.Managed || !spec.ForwardCapable(n.Type) || (len(networks) > 0 && !slices.Contains(networks, n.Name)) {
			continue
		}
		fwds, err := r.ListForwards(ctx, n.Name)
		if errors.Is(err, engine.ErrNotFound) {
			continue // deleted since the network list
		}
		if err != nil {
			return config.ExportSet{}, "", fmt.Errorf("exporting remote %q: %w", src.remote.Name, err)
		}
		obs.forwards = append(obs.forwards, fwds...)
	}
	set, skipped, err := selectExport(obs, src.declared, networks)
	if err != nil {
		return config.ExportSet{}, "", fmt.Errorf("exporting remote %q: %w", src.remote.Name, err)
	}
	set.Remote, set.RemoteAttr = src.remote.Name, src.attr
	if src.block {
		set.RemoteBlock = src.remote
	}
	report := fmt.Sprintf("remote %q: exported %s, %s, %s, %s", src.remote.Name,
		count(len(set.Networks), "network"), count(len(set.Profiles), "profile"),
		count(len(set.Instances), "node"), count(len(set.Forwards), "forward"))
	if len(skipped) > 0 {
		report += "; skipped " + strings.Join(skipped, ", ")
	}
	return set, report, nil
}

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// exportObserved is everything read from one remote.
type exportObserved struct {
	networks  []engine.Network
	profiles  []engine.Profile
	instances []engine.Instance
	forwards  []engine.Forward
}

// selectExport chooses the objects to export: no lxnetd owner tag (objects
// some lxnetd configuration owns are its business), not declared already,
// managed networks only, no "default" profile (every LXD has one; adopting
// it would let lxnetd delete it), and with networks given, only what hangs
// off those networks. skipped describes what was left out, for the report.
func selectExport(obs exportObserved, declared *spec.Remote, networks []string) (config.ExportSet, []string, error) {
	var set config.ExportSet
	d := declaredNames(declared)
	owned, already := 0, 0
	keep := func(kind, name string, cfg map[string]string) bool {
		switch {
		case cfg[engine.TagOwner] != "":
			owned++
			return false
		case d[kind+"/"+name]:
			already++
			return false
		}
		return true
	}
	known := map[string]bool{}
	for _, n := range obs.networks {
		known[n.Name] = n.Managed
	}
	for _, n := range networks {
		if !known[n] {
			return set, nil, fmt.Errorf("--network %q: no managed network of that name", n)
		}
	}
	inScope := func(devs map[string]map[string]string) bool {
		for _, dev := range devs {
			if slices.Contains(networks, dev["network"]) || slices.Contains(networks, dev["parent"]) {
				return true
			}
		}
		return false
	}
	profileDevs := map[string]map[string]map[string]string{}
	for _, p := range obs.profiles {
		profileDevs[p.Name] = p.Devices
	}
	for _, n := range obs.networks {
		if n.Managed && (len(networks) == 0 || slices.Contains(networks, n.Name)) && keep("network", n.Name, n.Config) {
			set.Networks = append(set.Networks, n)
		}
	}
	usedProfiles := map[string]bool{}
	for _, i := range obs.instances {
		if len(networks) > 0 {
			attached := inScope(i.Devices)
			for _, p := range i.Profiles {
				attached = attached || inScope(profileDevs[p])
			}
			if !attached {
				continue
			}
		}
		if keep("node", i.Name, i.Config) {
			set.Instances = append(set.Instances, i)
			for _, p := range i.Profiles {
				usedProfiles[p] = true
			}
		}
	}
	defaultSkipped := false
	for _, p := range obs.profiles {
		if len(networks) > 0 && !usedProfiles[p.Name] && !inScope(p.Devices) {
			continue
		}
		if p.Name == "default" {
			defaultSkipped = true
			continue
		}
		if keep("profile", p.Name, p.Config) {
			set.Profiles = append(set.Profiles, p)
		}
	}
	for _, f := range obs.forwards {
		if (len(networks) == 0 || slices.Contains(networks, f.Network)) && keep("forward", f.Network+"/"+f.ListenAddress, f.Config) {
			set.Forwards = append(set.Forwards, f)
		}
	}
	var skipped []string
	if owned > 0 {
		skipped = append(skipped, fmt.Sprintf("%d owned by lxnetd", owned))
	}
	if already > 0 {
		skipped = append(skipped, fmt.Sprintf("%d already declared", already))
	}
	if defaultSkipped {
		skipped = append(skipped, `profile "default"`)
	}
	return set, skipped, nil
}

// declaredNames indexes what a configuration declares on a remote, as
// "kind/LXD name" (forwards "forward/NETWORK/LISTEN", including those that
// services compile to).
func declaredNames(r *spec.Remote) map[string]bool {
	out := map[string]bool{}
	if r == nil {
		return out
	}
	for _, n := range r.Networks {
		out["network/"+n.Name] = true
	}
	for _, p := range r.Profiles {
		out["profile/"+p.Name] = true
	}
	for _, i := range r.Instances {
		out["node/"+i.Name] = true
	}
	for _, f := range r.Forwards {
		out["forward/"+f.Network+"/"+f.ListenAddress] = true
	}
	for _, e := range r.Exposures {
		if e.Via == spec.ViaForward {
			out["forward/"+e.Network+"/"+e.ListenAddress] = true
		}
	}
	return out
}
