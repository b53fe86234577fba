package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/zclconf/go-cty/cty"
)

// evalRemote evaluates a remote block: how to reach one LXD server.
func (l *loader) evalRemote(d *decl, ctx *hcl.EvalContext) (cty.Value, bool, hcl.Diagnostics) {
	e := l.newEv(d, ctx, d.content.Attributes)
	address, aAddr := e.str("address")
	project, _ := e.str("project")
	cert, aCert := e.str("client_cert")
	key, aKey := e.str("client_key")
	fp, aFp := e.str("server_fingerprint")
	lxcRemote, _ := e.str("lxc_remote")
	incusRemote, aIncus := e.str("incus_remote")
	if e.failed {
		// Still a remote by that name, so the blocks on it are checked.
		return cty.ObjectVal(map[string]cty.Value{
			"name": cty.StringVal(d.name), "address": e.or("address", cty.StringVal(address)), "project": e.or("project", cty.StringVal(strOr(project, "default"))),
		}), true, *e.diags
	}
	def := d.block.DefRange.Ptr()
	// clientRemote names a remote of a command-line client's configuration
	// (lxc's or incus's), which then supplies address and certificates.
	clientRemote, tool := lxcRemote, "lxc"
	if incusRemote != "" {
		clientRemote, tool = incusRemote, "incus"
	}
	if clientRemote == "" {
		// With lxc_remote/incus_remote an unset project stays empty: the
		// adapter takes the client remote's project (as lxc does), else "default".
		project = strOr(project, "default")
	}
	r := spec.Remote{Name: d.name, Pos: posOf(d.block.DefRange), Address: address, Project: project,
		ClientCert: l.configPath(cert), ClientKey: l.configPath(key), LXCRemote: lxcRemote, IncusRemote: incusRemote}
	bad := false
	fail := func(rng *hcl.Range, summary, format string, args ...any) {
		e.errorf(rng, summary, format, args...)
		bad = true
	}
	if clientRemote != "" {
		if lxcRemote != "" && incusRemote != "" {
			fail(aIncus.NameRange.Ptr(), "Conflicting remote settings",
				"A remote takes its connection from one client configuration: keep lxc_remote (the lxc client's) or incus_remote (the incus client's), not both.")
		}
		// A null value is the same as an absent argument (as in Terraform),
		// so one remote block can serve unix and https through variables.
		for i, a := range []*hcl.Attribute{aAddr, aCert, aKey} {
			if a != nil && []string{address, cert, key}[i] != "" {
				fail(a.NameRange.Ptr(), "Conflicting remote settings",
					"With %s_remote set, the address and client certificate come from the %s client configuration; remove %s, or remove %s_remote.", tool, tool, a.Name, tool)
			}
		}
	} else {
		switch {
		case address == "":
			fail(def, "Missing remote address",
				"Set address = \"unix://\" (the local LXD or Incus socket), \"unix:///path/to/unix.socket\" or \"https://host:8443\" — or lxc_remote = \"NAME\" (incus_remote = \"NAME\") to use a remote of the lxc (incus) client configuration.")
		case strings.HasPrefix(address, "unix://"):
			if p := strings.TrimPrefix(address, "unix://"); p != "" && !filepath.IsAbs(p) {
				fail(aAddr.Expr.Range().Ptr(), "Invalid remote address",
					"A unix socket address needs an absolute path: \"unix:///var/lib/lxd/unix.socket\" (three slashes), or just \"unix://\" for the default socket.")
			}
			if cert != "" || key != "" {
				a := aCert
				if cert == "" {
					a = aKey
				}
				fail(a.NameRange.Ptr(), "Unused client certificate",
					"%s is used only with https remotes; remove it, or set an https:// address.", a.Name)
			}
		case strings.HasPrefix(address, "https://"):
			u, err := url.Parse(address)
			if err != nil || u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
				fail(aAddr.Expr.Range().Ptr(), "Invalid remote address",
					"An https remote address is \"https://HOST:PORT\", e.g. \"https://10.0.0.5:8443\", with no path.")
				break
			}
			if u.Port() == "" {
				r.Address = "https://" + u.Host + ":8443"
			} else {
				r.Address = "https://" + u.Host
			}
			var missing []string
			if cert == "" {
				missing = append(missing, "client_cert")
			}
			if key == "" {
				missing = append(missing, "client_key")
			}
			if len(missing) > 0 {
				fail(def, "Missing client certificate",
					"An https remote needs %s: PEM files of a client certificate the LXD server trusts (lxc config trust add). Or set lxc_remote to use the lxc client's configuration.", strings.Join(missing, " and "))
			}
			for _, c := range []struct {
				path, what string
				a          *hcl.Attribute
			}{{cert, "certificate", aCert}, {key, "key", aKey}} {
				if c.path == "" {
					continue
				}
				mode, err := l.readableFile(c.path)
				switch {
				case err != nil:
					fail(c.a.Expr.Range().Ptr(), "Cannot read client "+c.what,
						"%s = %s: %v. Relative paths are relative to the configuration directory; give the PEM file of a client certificate (and its key) that the LXD server trusts.", c.a.Name, quoted(c.path), err)
				case c.what == "key" && mode&0o077 != 0:
					fail(c.a.Expr.Range().Ptr(), "Client key readable by others",
						"%s = %s has mode %04o: group or others can read this private key, and anyone who reads it can act as lxnetd on the LXD server. Like ssh, lxnetd refuses it: chmod 600 %s (owned by the user lxnetd runs as).", c.a.Name, quoted(c.path), mode.Perm(), c.path)
				}
			}
			if fp == "" {
				fail(def, "Missing server fingerprint",
					"lxnetd refuses to talk to an https server it cannot verify. Set server_fingerprint = \"sha256:<64 hex digits>\", the SHA-256 fingerprint of the server certificate (openssl x509 -noout -fingerprint -sha256 -in server.crt).")
			}
		default:
			fail(aAddr.Expr.Range().Ptr(), "Invalid remote address",
				"A remote address starts with unix:// (local socket) or https:// (remote LXD over TLS); got %s.", quoted(address))
		}
	}
	if fp != "" {
		norm, ok := fingerprint(fp)
		if !ok {
			fail(aFp.Expr.Range().Ptr(), "Invalid server fingerprint",
				"A fingerprint is \"sha256:\" followed by 64 hexadecimal digits (colons between byte pairs are allowed), e.g. the output of openssl x509 -noout -fingerprint -sha256.")
		}
		r.ServerFingerprint = norm
	}
	if !bad {
		l.remotes = append(l.remotes, &remoteResult{d: d, spec: r})
	}
	// Even a remote with errors has a name: the blocks on it are checked too.
	return cty.ObjectVal(map[string]cty.Value{
		"name": cty.StringVal(r.Name), "address": e.or("address", cty.StringVal(r.Address)), "project": e.or("project", cty.StringVal(r.Project)),
	}), true, *e.diags
}

// readableFile checks that p (as written, relative to the configuration
// directory) is a regular file that can be opened for reading, and returns
// its mode. The error names no absolute path, so messages are the same
// wherever the directory is.
func (l *loader) readableFile(p string) (fs.FileMode, error) {
	var f fs.File
	var err error
	if l.dir == "" && !filepath.IsAbs(p) {
		name := filepath.ToSlash(filepath.Clean(p))
		if !fs.ValidPath(name) {
			return 0, fmt.Errorf("not inside the configuration directory")
		}
		f, err = l.fsys.Open(name)
	} else {
		f, err = os.Open(l.configPath(p))
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return 0, pe.Err
		}
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	switch {
	case err != nil:
		return 0, err
	case st.IsDir():
		return 0, fmt.Errorf("is a directory, not a file")
	case !st.Mode().IsRegular():
		return 0, fmt.Errorf("not a regular file")
	}
	return st.Mode(), nil
}

// configPath makes a relative file path relative to the configuration
// directory, so certificates can live beside the files.
func (l *loader) configPath(p string) string {
	if p == "" || filepath.IsAbs(p) || l.dir == "" {
		return p
	}
	return filepath.Join(l.dir, p)
}
