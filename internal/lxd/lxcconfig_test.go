package lxd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lxnetd/lxnetd/engine/spec"
)

const testLXCConfig = `default-remote: vm1
remotes:
  vm1:
    addr: https://10.231.9.2:8443
    auth_type: tls
    project: web
    protocol: lxd
    public: false
  mirror:
    addr: https://images.example
    protocol: simplestreams
    public: true
aliases: {}
`

// writeCert writes a self-signed certificate in PEM and returns its fingerprint.
func writeCert(t *testing.T, path string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return fingerprint(der)
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLXCConfigDir(t *testing.T) {
	home := t.TempDir()
	got, err := lxcConfigDir(env(map[string]string{"HOME": home}))
	if err != nil || got != filepath.Join(home, ".config", "lxc") {
		t.Errorf("plain home: %q, %v", got, err)
	}
	snap := filepath.Join(home, "snap", "lxd", "common", "config")
	if err := os.MkdirAll(snap, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(snap, "config.yml"), []byte("remotes: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := lxcConfigDir(env(map[string]string{"HOME": home})); got != snap {
		t.Errorf("snap home: %q, want %q", got, snap)
	}
	if got, _ := lxcConfigDir(env(map[string]string{"HOME": home, "LXD_CONF": "/x"})); got != "/x" {
		t.Errorf("LXD_CONF: %q", got)
	}
}

func TestResolveEndpointLXCRemote(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(testLXCConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	fp := writeCert(t, filepath.Join(dir, "servercerts", "vm1.crt"))
	getenv := env(map[string]string{"LXD_CONF": dir})

	got, err := resolveEndpoint(&spec.Remote{Name: "a", LXCRemote: "vm1"}, getenv)
	if err != nil {
		t.Fatal(err)
	}
	want := endpoint{
		address:    "https://10.231.9.2:8443",
		clientCert: filepath.Join(dir, "client.crt"),
		clientKey:  filepath.Join(dir, "client.key"),
		pin:        fp,
		project:    "web",
		tool:       "lxc",
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(endpoint{})); diff != "" {
		t.Errorf("endpoint (-want +got):\n%s", diff)
	}

	// Fields of the remote block win over lxc's.
	pin := "sha256:" + strings.Repeat("1", 64)
	got, err = resolveEndpoint(&spec.Remote{Name: "a", LXCRemote: "vm1", Project: "default",
		ClientCert: "/c.crt", ClientKey: "/c.key", ServerFingerprint: pin}, getenv)
	if err != nil {
		t.Fatal(err)
	}
	want = endpoint{address: "https://10.231.9.2:8443", clientCert: "/c.crt", clientKey: "/c.key", pin: pin, project: "default", tool: "lxc"}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(endpoint{})); diff != "" {
		t.Errorf("overridden endpoint (-want +got):\n%s", diff)
	}

	// Static remotes exist without configuration; an image server is not a remote.
	got, err = resolveEndpoint(&spec.Remote{Name: "a", LXCRemote: "local"}, env(map[string]string{"LXD_CONF": dir, "LXD_DIR": "/srv/lxd"}))
	if err != nil || got.socket != "/srv/lxd/unix.socket" {
		t.Errorf("lxc remote local: %+v, %v", got, err)
	}
	for name, wantErr := range map[string]string{
		"mirror":  "simplestreams image server",
		"missing": "lxc remote add missing",
	} {
		_, err := resolveEndpoint(&spec.Remote{Name: "a", LXCRemote: name}, getenv)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("lxc remote %q: error %v, want one containing %q", name, err, wantErr)
		}
	}
}

func TestResolveEndpointAddress(t *testing.T) {
	pin := "sha256:" + strings.Repeat("a", 64)
	for _, tc := range []struct {
		name    string
		r       spec.Remote
		env     map[string]string
		want    endpoint
		wantErr string
	}{
		{name: "default socket from LXD_DIR", r: spec.Remote{Address: "unix://"}, env: map[string]string{"LXD_DIR": "/d"},
			want: endpoint{address: "unix:///d/unix.socket", socket: "/d/unix.socket", project: "default"}},
		{name: "LXD_SOCKET wins", r: spec.Remote{Address: ""}, env: map[string]string{"LXD_DIR": "/d", "LXD_SOCKET": "/s.sock"},
			want: endpoint{address: "unix:///s.sock", socket: "/s.sock", project: "default"}},
		{name: "explicit socket", r: spec.Remote{Address: "unix:///run/x.socket", Project: "p"},
			want: endpoint{address: "unix:///run/x.socket", socket: "/run/x.socket", project: "p"}},
		{name: "https", r: spec.Remote{Address: "https://h:8443/", ClientCert: "c", ClientKey: "k", ServerFingerprint: strings.ToUpper(pin)},
			want: endpoint{address: "https://h:8443", clientCert: "c", clientKey: "k", pin: pin, project: "default"}},
		{name: "https unpinned resolves (refused at connect)", r: spec.Remote{Address: "https://h:8443", ClientCert: "c", ClientKey: "k"},
			want: endpoint{address: "https://h:8443", clientCert: "c", clientKey: "k", project: "default"}},
		{name: "https without cert", r: spec.Remote{Address: "https://h:8443"}, wantErr: "needs client_cert"},
		{name: "bad pin", r: spec.Remote{Address: "https://h:8443", ClientCert: "c", ClientKey: "k", ServerFingerprint: "sha1:abc"}, wantErr: "not a SHA-256"},
		{name: "http", r: spec.Remote{Address: "http://h:8443"}, wantErr: "unsupported address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolveEndpoint(&tc.r, env(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(endpoint{})); diff != "" {
				t.Errorf("endpoint (-want +got):\n%s", diff)
			}
		})
	}
}
