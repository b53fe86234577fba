// Package sandbox gives tests the two throwaway LXD daemons that sandbox.sh
// starts (primary on a unix socket, secondary on HTTPS 127.0.0.1), and
// helpers that create uniquely named objects on them and remove them in
// t.Cleanup.
//
// It drives LXD through the `lxc` CLI with private client configs rather
// than the LXD Go client, because only package internal/lxd may import that
// client; tests of internal/lxd thereby check it against an independent path.
//
// Nothing here skips: when the sandbox is not running, every helper fails the
// test with a message that says how to start it (make sandbox-up).
package sandbox

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// DefaultDir is where sandbox.sh keeps the daemons unless LXNETD_SANDBOX_DIR says otherwise.
const DefaultDir = "/var/lib/lxnetd-sandbox"

// Daemon is one sandbox daemon (LXD, or the Incus one) and how to reach it.
type Daemon struct {
	Name              string // "primary", "secondary" or "incus"
	Kind              string // the server: "lxd" or "incus" (see Servers)
	Dir               string // its LXD_DIR
	Socket            string // unix socket path
	HTTPSAddress      string // "https://127.0.0.1:PORT" (secondary only; "" for primary)
	ClientCert        string // PEM file of a client certificate the daemon trusts (secondary)
	ClientKey         string // PEM file of that certificate's key (secondary)
	ServerFingerprint string // "sha256:<hex>" of the daemon's server certificate

	// Underlay is the daemon's own address on the host bridge that joins
	// the daemons of a NamespacedPair ("" for the others): what a VXLAN
	// tunnel's local/remote keys name.
	Underlay string

	// LXDConf is a private client config directory (LXD_CONF for lxc,
	// INCUS_CONF for incus) whose default remote is this daemon: the unix socket for primary, HTTPS with
	// the client certificate and the pinned server certificate for secondary.
	LXDConf string

	// scriptEnv is the sandbox.sh environment of a Private daemon, so
	// Restart brings back exactly that daemon (nil for the shared ones).
	scriptEnv []string
}

// Dir returns the sandbox directory: $LXNETD_SANDBOX_DIR or DefaultDir.
func Dir() string {
	if d := os.Getenv("LXNETD_SANDBOX_DIR"); d != "" {
		return d
	}
	return DefaultDir
}

// Primary returns the sandbox's primary daemon (unix socket), failing the
// test when it is not running.
func Primary(t testing.TB) *Daemon {
	t.Helper()
	return daemon(t, "primary")
}

// Secondary returns the sandbox's secondary daemon, reached over HTTPS with
// a trusted client certificate, failing the test when it is not running.
func Secondary(t testing.TB) *Daemon {
	t.Helper()
	return daemon(t, "secondary")
}

// Incus returns the sandbox's Incus daemon (unix socket), failing the test
// when it is not running.
func Incus(t testing.TB) *Daemon {
	t.Helper()
	return daemon(t, "incus")
}

// checked remembers daemons found reachable, so each test process probes a
// daemon once rather than in every test.
var checked sync.Map // name -> *Daemon

func daemon(t testing.TB, name string) *Daemon {
	t.Helper()
	if d, ok := checked.Load(name); ok {
		return d.(*Daemon)
	}
	d, err := connect(Dir(), name)
	if err != nil {
		t.Fatalf("%v", err)
	}
	checked.Store(name, d)
	return d
}

// connect loads daemon name of the sandbox in dir and checks it answers.
func connect(dir, name string) (*Daemon, error) {
	d, err := load(dir, name)
	if err == nil {
		err = d.probe()
	}
	if err != nil {
		return nil, fmt.Errorf("sandbox LXD %s is not running (run make sandbox-up): %w", name, err)
	}
	return d, nil
}

// load reads the state file sandbox.sh writes and returns the named daemon.
func load(dir, name string) (*Daemon, error) {
	path := filepath.Join(dir, "state.env")
	st, err := loadState(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no state file %s (sandbox.sh up writes it)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading sandbox state: %w", err)
	}
	p := strings.ToUpper(name) + "_"
	kind, conf := KindLXD, st[p+"LXD_CONF"]
	if name == "incus" {
		kind, conf = KindIncus, st[p+"CONF"]
	}
	d := &Daemon{
		Name:              name,
		Kind:              kind,
		Dir:               st[p+"DIR"],
		Socket:            st[p+"SOCKET"],
		HTTPSAddress:      st[p+"HTTPS"],
		ClientCert:        st[p+"CLIENT_CERT"],
		ClientKey:         st[p+"CLIENT_KEY"],
		ServerFingerprint: st[p+"FINGERPRINT"],
		LXDConf:           conf,
		Underlay:          st[p+"UNDERLAY"],
	}
	if d.Dir == "" || d.Socket == "" || d.LXDConf == "" {
		return nil, fmt.Errorf("sandbox state %s does not describe daemon %q", path, name)
	}
	return d, nil
}

// parseState reads KEY=VALUE lines; blank lines and # comments are ignored.
func parseState(r io.Reader) (map[string]string, error) {
	st := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("line %d: want KEY=VALUE, got %q", n, line)
		}
		st[k] = v
	}
	return st, sc.Err()
}

// probe asks the daemon for /1.0 the way lxnetd would reach it: over the
// unix socket, and for secondary also over HTTPS with the client
// certificate, checking the server certificate against ServerFingerprint.
func (d *Daemon) probe() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	unix := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", d.Socket)
		},
	}}
	if err := getAPI(ctx, unix, "http://lxd/1.0"); err != nil {
		return fmt.Errorf("unix socket %s: %w", d.Socket, err)
	}
	if d.HTTPSAddress == "" {
		return nil
	}
	c, err := d.HTTPSClient()
	if err != nil {
		return err
	}
	if err := getAPI(ctx, c, d.HTTPSAddress+"/1.0"); err != nil {
		return fmt.Errorf("%s: %w", d.HTTPSAddress, err)
	}
	return nil
}

func getAPI(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if !strings.Contains(string(body), `"auth":"trusted"`) {
		return fmt.Errorf("GET %s: the daemon does not trust this client", url)
	}
	return nil
}

// HTTPSClient returns an http.Client that presents the daemon's trusted
// client certificate and accepts only the server certificate whose sha256
// fingerprint is ServerFingerprint. It is for the HTTPS daemon (secondary).
func (d *Daemon) HTTPSClient() (*http.Client, error) {
	if d.HTTPSAddress == "" {
		return nil, fmt.Errorf("daemon %s has no HTTPS address", d.Name)
	}
	cert, err := tls.LoadX509KeyPair(d.ClientCert, d.ClientKey)
	if err != nil {
		return nil, fmt.Errorf("loading client certificate of %s: %w", d.Name, err)
	}
	want := strings.TrimPrefix(d.ServerFingerprint, "sha256:")
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		// The server certificate is self-signed; it is pinned below instead.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("server sent no certificate")
			}
			sum := sha256.Sum256(raw[0])
			if got := hex.EncodeToString(sum[:]); got != want {
				return fmt.Errorf("server certificate fingerprint sha256:%s, want sha256:%s", got, want)
			}
			return nil
		},
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}, nil
}

// Remote returns the spec.Remote that connects lxnetd to this daemon: the
// unix socket for primary; HTTPS, client certificate and pinned server
// fingerprint for secondary. Only the connection fields are filled.
func (d *Daemon) Remote() spec.Remote {
	if d.HTTPSAddress == "" {
		return spec.Remote{Name: d.Name, Address: "unix://" + d.Socket, Project: "default"}
	}
	return spec.Remote{
		Name:              d.Name,
		Address:           d.HTTPSAddress,
		Project:           "default",
		ClientCert:        d.ClientCert,
		ClientKey:         d.ClientKey,
		ServerFingerprint: d.ServerFingerprint,
	}
}
