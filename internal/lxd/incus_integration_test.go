//go:build integration

package lxd

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestConnectNamesServer: Connect learns which server it reached, as the
// daemon itself says (kind and version), on LXD and on Incus.
func TestConnectNamesServer(t *testing.T) {
	for _, d := range sandbox.Servers(t) {
		t.Run(d.Kind, func(t *testing.T) {
			r := connect(t, d)
			srv := r.Server()
			if srv.String() != d.Server(t) || srv.Kind != d.Kind {
				t.Errorf("Server() = %+v (%q), want %q", srv, srv, d.Server(t))
			}
			if !srv.HasExtension("network_forward") || len(srv.Extensions) < 100 {
				t.Errorf("extensions of %s: %d, network_forward %v", srv, len(srv.Extensions), srv.HasExtension("network_forward"))
			}
		})
	}
}

// TestConnectIncusRemote: incus_remote takes the address, the client
// certificate and the pinned server certificate from the incus client's
// configuration (INCUS_CONF), over HTTPS; a replaced saved server
// certificate is refused with a PinError.
func TestConnectIncusRemote(t *testing.T) {
	d := sandbox.Incus(t)
	conf := t.TempDir()
	for _, f := range []string{"config.yml", "client.crt", "client.key", filepath.Join("servercerts", sandbox.IncusHTTPSRemote+".crt")} {
		copyFile(t, filepath.Join(d.LXDConf, f), filepath.Join(conf, f))
	}
	t.Setenv("INCUS_CONF", conf)
	t.Setenv("LXD_CONF", t.TempDir()) // lxc's configuration has no such remote
	r, err := Connect(testCtx(t), &spec.Remote{Name: "viaIncus", IncusRemote: sandbox.IncusHTTPSRemote})
	if err != nil {
		t.Fatalf("Connect via incus remote: %v", err)
	}
	defer r.Close()
	if !strings.HasPrefix(r.Address(), "https://127.0.0.1:") || r.Server().Kind != engine.ServerIncus {
		t.Errorf("address %q, server %+v; want Incus over https://127.0.0.1", r.Address(), r.Server())
	}
	if _, err := r.ListNetworks(testCtx(t)); err != nil {
		t.Error(err)
	}
	if _, err := Connect(testCtx(t), &spec.Remote{Name: "viaLXC", LXCRemote: sandbox.IncusHTTPSRemote}); err == nil ||
		!strings.Contains(err.Error(), "lxc remote add "+sandbox.IncusHTTPSRemote) {
		t.Errorf("lxc_remote naming the incus remote: %v, want lxc's own error", err)
	}
	// The server certificate incus saved is the pin: a different one is refused.
	writeCert(t, filepath.Join(conf, "servercerts", sandbox.IncusHTTPSRemote+".crt"))
	_, err = Connect(testCtx(t), &spec.Remote{Name: "viaIncus", IncusRemote: sandbox.IncusHTTPSRemote})
	var pe *PinError
	if !errors.As(err, &pe) {
		t.Errorf("replaced servercert: %v, want a PinError", err)
	}
}
