package lxd

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// The incus client writes its config.yml in lxc's layout, with protocol "incus".
const testIncusConfig = `default-remote: vm1
remotes:
  vm1:
    addr: https://10.231.9.3:8443
    auth_type: tls
    project: edge
    protocol: incus
    public: false
aliases: {}
`

// TestResolveEndpointIncusRemote: incus_remote reads $INCUS_CONF (not
// $LXD_CONF) and takes address, project, client certificate and the saved
// server certificate from it, as lxc_remote does from lxc's.
func TestResolveEndpointIncusRemote(t *testing.T) {
	dir, lxcDir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(testIncusConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	fp := writeCert(t, filepath.Join(dir, "servercerts", "vm1.crt"))
	getenv := env(map[string]string{"INCUS_CONF": dir, "LXD_CONF": lxcDir})

	got, err := resolveEndpoint(&spec.Remote{Name: "a", IncusRemote: "vm1"}, getenv)
	if err != nil {
		t.Fatal(err)
	}
	want := endpoint{
		address:    "https://10.231.9.3:8443",
		clientCert: filepath.Join(dir, "client.crt"),
		clientKey:  filepath.Join(dir, "client.key"),
		pin:        fp,
		project:    "edge",
		tool:       "incus",
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(endpoint{})); diff != "" {
		t.Errorf("endpoint (-want +got):\n%s", diff)
	}
	// The same name through lxc_remote is looked up in lxc's configuration.
	if _, err := resolveEndpoint(&spec.Remote{Name: "a", LXCRemote: "vm1"}, getenv); err == nil ||
		!strings.Contains(err.Error(), "lxc remote add vm1") {
		t.Errorf("lxc_remote vm1 with only an incus config: %v", err)
	}
	if _, err := resolveEndpoint(&spec.Remote{Name: "a", IncusRemote: "nope"}, getenv); err == nil ||
		!strings.Contains(err.Error(), "incus remote add nope") || !strings.Contains(err.Error(), filepath.Join(dir, "config.yml")) {
		t.Errorf("unknown incus remote: %v", err)
	}
	// incus's "local" is Incus's socket even when LXD's variables are set.
	got, err = resolveEndpoint(&spec.Remote{Name: "a", IncusRemote: "local"},
		env(map[string]string{"INCUS_CONF": dir, "INCUS_DIR": "/srv/incus", "LXD_DIR": "/srv/lxd"}))
	if err != nil || got.socket != "/srv/incus/unix.socket" {
		t.Errorf("incus remote local: %+v, %v", got, err)
	}
	// Without INCUS_CONF, ~/.config/incus.
	if d, err := incusConfigDir(env(map[string]string{"HOME": "/home/u"})); err != nil || d != "/home/u/.config/incus" {
		t.Errorf("incusConfigDir = %q, %v", d, err)
	}
}

// TestDefaultSocket: "unix://" is LXD's socket when one exists or LXD's
// variables say where, else Incus's; a variable beats a socket that exists.
func TestDefaultSocket(t *testing.T) {
	for _, tc := range []struct {
		name       string
		env        map[string]string
		exist      []string
		incusFirst bool
		want       string
	}{
		{name: "nothing", want: lxdSocket},
		{name: "nothing, incus client", incusFirst: true, want: incusSocket},
		{name: "LXD_SOCKET", env: map[string]string{"LXD_SOCKET": "/s", "INCUS_SOCKET": "/i"}, want: "/s"},
		{name: "LXD_DIR", env: map[string]string{"LXD_DIR": "/d", "INCUS_SOCKET": "/i"}, want: "/d/unix.socket"},
		{name: "INCUS_SOCKET", env: map[string]string{"INCUS_SOCKET": "/i"}, exist: []string{incusSocket}, want: "/i"},
		{name: "INCUS_DIR", env: map[string]string{"INCUS_DIR": "/id"}, want: "/id/unix.socket"},
		{name: "INCUS_DIR beats an existing LXD socket", env: map[string]string{"INCUS_DIR": "/id"}, exist: []string{lxdSocket}, want: "/id/unix.socket"},
		{name: "LXD socket first", exist: []string{incusSocket, lxdSocket}, want: lxdSocket},
		{name: "snap first", exist: []string{lxdSocket, lxdSnapSocket}, want: lxdSnapSocket},
		{name: "only Incus", exist: []string{incusSocket}, want: incusSocket},
		{name: "only Incus in /run", exist: []string{incusRunSocket}, want: incusRunSocket},
		{name: "incus client prefers Incus", exist: []string{lxdSocket, incusRunSocket}, incusFirst: true, want: incusRunSocket},
		{name: "incus client, INCUS_SOCKET before LXD_SOCKET", env: map[string]string{"LXD_SOCKET": "/s", "INCUS_SOCKET": "/i"}, incusFirst: true, want: "/i"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := socketExists
			t.Cleanup(func() { socketExists = old })
			socketExists = func(p string) bool { return slices.Contains(tc.exist, p) }
			if got := defaultSocket(env(tc.env), tc.incusFirst); got != tc.want {
				t.Errorf("defaultSocket = %q, want %q", got, tc.want)
			}
		})
	}
}
