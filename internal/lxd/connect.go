package lxd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	lxdclient "github.com/canonical/lxd/client"
	"github.com/canonical/lxd/shared/api"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// connectTimeout bounds Connect when the caller's context has no deadline,
// so an unreachable remote fails fast instead of hanging a plan.
const connectTimeout = 15 * time.Second

const userAgent = "lxnetd"

// Remote is one connected LXD server (or cluster), scoped to one project.
// It implements engine.Remote. All methods are safe for concurrent use.
type Remote struct {
	name    string
	address string // resolved address, for messages
	project string

	// clustered is what the server said at Connect (a member of an LXD
	// cluster): networks are then created member by member (networks.go).
	clustered bool
	// server is what GET /1.0 said at Connect (see Server).
	server engine.ServerInfo
	// clientTool is "lxc" or "incus" when the remote came from that
	// client's configuration (lxc_remote, incus_remote), else "".
	clientTool string

	// base is the connected client. It is never used for a request directly:
	// every call derives a client carrying the call's context (see client).
	base *lxdclient.ProtocolLXD
	tr   *transport

	// dial opens another client to the same server with a transport of its
	// own (no request): each WatchLifecycle uses one, so that it can close
	// its event websocket when it returns (see events.go).
	dial func(ctx context.Context) (*lxdclient.ProtocolLXD, *transport, error)

	watches closeSet[*transport] // transports of running watches, cut by Close

	requests *atomic.Int64
}

var _ engine.Remote = (*Remote)(nil)

// endpoint is a remote's connection parameters after resolving lxc_remote
// and defaults.
type endpoint struct {
	address    string // "unix:///path" or "https://host:port"
	socket     string // unix socket path (unix only)
	clientCert string // file paths (https only)
	clientKey  string
	pin        string // normalized "sha256:<hex>" or ""
	project    string
	tool       string // "lxc" or "incus" for lxc_remote/incus_remote, else ""
}

// Connect opens a connection to the remote r describes and checks it:
//
//   - "unix://" uses the default socket (see defaultSocket: LXD's the way
//     lxc finds it, else Incus's the way incus does); "unix:///path" a given one.
//   - "https://host:port" authenticates with ClientCert/ClientKey and accepts
//     the server only if its certificate's SHA-256 equals ServerFingerprint.
//     There is no trust-on-first-use: an unpinned server is refused with a
//     *PinError that prints its fingerprint and how to pin it.
//   - LXCRemote takes address, project, client certificate and the server
//     certificate saved by `lxc remote add` from the lxc client config
//     ($LXD_CONF, ~/snap/lxd/common/config or ~/.config/lxc); fields set in
//     r (project, certificates, fingerprint) override what lxc has.
//     IncusRemote does the same with the incus client config ($INCUS_CONF
//     or ~/.config/incus), whose layout is lxc's.
//
// Connect issues one request (GET /1.0), two for a project other than
// "default" (which must exist). The client certificate must be trusted by
// the server.
func Connect(ctx context.Context, r *spec.Remote) (*Remote, error) {
	ep, err := resolveEndpoint(r, os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("remote %q: %w", r.Name, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, connectTimeout)
		defer cancel()
	}
	rem, err := connectEndpoint(ctx, r.Name, ep)
	if err != nil {
		return nil, fmt.Errorf("connecting to remote %q at %s: %w", r.Name, ep.address, err)
	}
	return rem, nil
}

// resolveEndpoint turns a spec.Remote into connection parameters without
// touching the network.
func resolveEndpoint(r *spec.Remote, getenv func(string) string) (endpoint, error) {
	ep := endpoint{
		address:    r.Address,
		clientCert: r.ClientCert,
		clientKey:  r.ClientKey,
		project:    r.Project,
	}
	pin := r.ServerFingerprint
	tool, clientRemote := "lxc", r.LXCRemote
	if r.IncusRemote != "" {
		tool, clientRemote = "incus", r.IncusRemote
	}
	if clientRemote != "" {
		ep.tool = tool
		cfg, err := loadClientConfig(tool, getenv)
		if err != nil {
			return ep, err
		}
		lr, err := cfg.remote(clientRemote)
		if err != nil {
			return ep, err
		}
		if lr.Protocol != "" && lr.Protocol != "lxd" && lr.Protocol != "incus" {
			return ep, fmt.Errorf("%s remote %q is a %s image server, not an LXD or Incus server", tool, clientRemote, lr.Protocol)
		}
		ep.address = lr.Addr
		if ep.project == "" {
			ep.project = lr.Project
		}
		cert, key := cfg.clientCertPaths()
		if ep.clientCert == "" {
			ep.clientCert = cert
		}
		if ep.clientKey == "" {
			ep.clientKey = key
		}
		if pin == "" && strings.HasPrefix(lr.Addr, "https://") {
			fp, err := pemFingerprint(cfg.serverCertPath(clientRemote))
			switch {
			case err == nil:
				pin = fp
			case !errors.Is(err, os.ErrNotExist):
				return ep, fmt.Errorf("reading the server certificate of %s remote %q: %w", tool, clientRemote, err)
			}
		}
	}
	if ep.project == "" {
		ep.project = api.ProjectDefaultName
	}
	switch {
	case ep.address == "" || ep.address == "unix://" || ep.address == "unix:":
		ep.socket = defaultSocket(getenv, tool == "incus" && clientRemote != "")
		ep.address = "unix://" + ep.socket
	case strings.HasPrefix(ep.address, "unix://"):
		ep.socket = strings.TrimPrefix(ep.address, "unix://")
	case strings.HasPrefix(ep.address, "unix:"):
		ep.socket = strings.TrimPrefix(ep.address, "unix:")
		ep.address = "unix://" + ep.socket
	case strings.HasPrefix(ep.address, "https://"):
		ep.address = strings.TrimSuffix(ep.address, "/")
		if ep.clientCert == "" || ep.clientKey == "" {
			return ep, fmt.Errorf("https remote %s needs client_cert and client_key (a certificate the server trusts: `lxc config trust add`)", ep.address)
		}
		if pin != "" {
			p, err := normalizePin(pin)
			if err != nil {
				return ep, err
			}
			ep.pin = p
		}
	default:
		return ep, fmt.Errorf("unsupported address %q (want unix://, unix:///path/to/unix.socket or https://host:port)", ep.address)
	}
	return ep, nil
}

// The local sockets, in the order defaultSocket tries them.
const (
	lxdSnapSocket  = "/var/snap/lxd/common/lxd/unix.socket"
	lxdSocket      = "/var/lib/lxd/unix.socket"
	incusSocket    = "/var/lib/incus/unix.socket"
	incusRunSocket = "/run/incus/unix.socket"
)

// socketExists is os.Stat, replaceable by tests.
var socketExists = func(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// defaultSocket finds the local socket of "unix://": LXD's the way lxc
// does ($LXD_SOCKET, $LXD_DIR/unix.socket, the snap's socket, then
// /var/lib/lxd/unix.socket), else Incus's the way incus does
// ($INCUS_SOCKET, $INCUS_DIR/unix.socket, /var/lib/incus/unix.socket,
// /run/incus/unix.socket). A variable that is set wins; then the first
// socket that exists; with none, LXD's path (Incus's when incusFirst), for
// the error message. incusFirst puts Incus first: the "local" remote of the
// incus client.
func defaultSocket(getenv func(string) string, incusFirst bool) string {
	type kind struct {
		sockEnv, dirEnv string
		paths           []string
	}
	lxd := kind{"LXD_SOCKET", "LXD_DIR", []string{lxdSnapSocket, lxdSocket}}
	incus := kind{"INCUS_SOCKET", "INCUS_DIR", []string{incusSocket, incusRunSocket}}
	order := []kind{lxd, incus}
	if incusFirst {
		order = []kind{incus, lxd}
	}
	for _, k := range order {
		if s := getenv(k.sockEnv); s != "" {
			return s
		}
		if dir := getenv(k.dirEnv); dir != "" {
			return filepath.Join(dir, "unix.socket")
		}
	}
	for _, k := range order {
		for _, p := range k.paths {
			if socketExists(p) {
				return p
			}
		}
	}
	if incusFirst {
		return incusSocket
	}
	return lxdSocket
}

func connectEndpoint(ctx context.Context, name string, ep endpoint) (*Remote, error) {
	if ep.socket != "" {
		if err := checkSocket(ep.socket); err != nil {
			return nil, err
		}
	}
	requests := new(atomic.Int64)
	dial := func(ctx context.Context) (*lxdclient.ProtocolLXD, *transport, error) {
		return dialEndpoint(ctx, ep, requests)
	}
	base, tr, err := dial(ctx)
	if err != nil {
		return nil, err
	}

	srv, _, err := base.GetServer()
	if err != nil {
		tr.closeAll()
		return nil, explainConnectError(ep, err)
	}
	if srv.Auth != "trusted" {
		tr.closeAll()
		return nil, fmt.Errorf("the server does not trust client certificate %s (on the server: `lxc config trust add %s`)",
			ep.clientCert, ep.clientCert)
	}
	rem := &Remote{
		name:       name,
		address:    ep.address,
		project:    ep.project,
		base:       base,
		tr:         tr,
		dial:       dial,
		requests:   requests,
		clustered:  srv.Environment.ServerClustered,
		server:     serverInfo(srv),
		clientTool: ep.tool,
	}
	if ep.project != api.ProjectDefaultName {
		if _, _, err := rem.client(ctx).GetProject(ep.project); err != nil {
			tr.closeAll()
			if api.StatusErrorCheck(err, http.StatusNotFound) {
				return nil, fmt.Errorf("project %q does not exist (create it with `lxc project create %s`)", ep.project, ep.project)
			}
			return nil, fmt.Errorf("checking project %q: %w", ep.project, err)
		}
	}
	return rem, nil
}

// checkSocket gives a precise error before the client's generic one.
func checkSocket(path string) error {
	_, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("LXD socket %s does not exist: is LXD running? (set the remote's address, or LXD_DIR/LXD_SOCKET; for Incus INCUS_DIR/INCUS_SOCKET)", path)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("no permission to reach LXD socket %s: run as root or as a member of the lxd group", path)
	case err != nil:
		return fmt.Errorf("checking LXD socket: %w", err)
	}
	return nil
}

// explainConnectError adds a hint to the usual ways a first request fails.
func explainConnectError(ep endpoint, err error) error {
	var pe *PinError
	switch {
	case errors.As(err, &pe):
		return pe
	case errors.Is(err, syscall.EACCES) || errors.Is(err, os.ErrPermission):
		return fmt.Errorf("no permission to use LXD socket %s: run as root or as a member of the lxd group: %w", ep.socket, err)
	case ep.socket != "" && errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("nothing listens on LXD socket %s (stale socket: is LXD running?): %w", ep.socket, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no answer in time: %w", err)
	}
	return err
}

// client returns a client for one call: scoped to the remote's project and
// carrying ctx on every HTTP request it makes.
//
// ProtocolLXD.WithContext sets the context on its receiver (it does not
// copy), so it is only called on the fresh copy UseProject returns. Each call
// therefore also gets its own event-listener table: client methods that wait
// on operation events would open a websocket per call, which is why instance
// writes go through Remote.operation instead.
func (r *Remote) client(ctx context.Context) *lxdclient.ProtocolLXD {
	c := r.base.UseProject(r.project).(*lxdclient.ProtocolLXD)
	c.WithContext(ctx)
	return c
}

// targetClient is client scoped to one cluster member ("" = no target;
// "none" is what a standalone server reports as an instance's location).
func (r *Remote) targetClient(ctx context.Context, member string) *lxdclient.ProtocolLXD {
	if member == "" || member == standalone {
		return r.client(ctx)
	}
	c := r.base.UseProject(r.project).UseTarget(member).(*lxdclient.ProtocolLXD)
	c.WithContext(ctx)
	return c
}

// Name is the remote's name in the configuration.
func (r *Remote) Name() string { return r.name }

// Address is the resolved address ("unix:///…/unix.socket" or "https://…").
func (r *Remote) Address() string { return r.address }

// Clustered says whether the server is a member of an LXD cluster (as it
// said at Connect): the Remote then stands for the whole cluster.
func (r *Remote) Clustered() bool { return r.clustered }

// Project is the LXD project every call is scoped to.
func (r *Remote) Project() string { return r.project }

// Requests is the number of HTTP requests sent to LXD through this Remote
// since Connect, including the GET /1.0 of Connect itself and requests made
// while waiting for operations; the event websocket is not counted.
func (r *Remote) Requests() int64 { return r.requests.Load() }

// Close closes every connection of this Remote, including event websockets
// (a running WatchLifecycle then returns an error). The Remote must not be
// used afterwards.
func (r *Remote) Close() {
	for _, tr := range r.watches.close() {
		tr.closeAll()
	}
	r.tr.closeAll()
}

// dialEndpoint builds a client for ep whose HTTP transport is lxnetd's
// (counting requests into requests, tracking connections). It sends no
// request.
func dialEndpoint(ctx context.Context, ep endpoint, requests *atomic.Int64) (*lxdclient.ProtocolLXD, *transport, error) {
	limits, err := defaultDeadlines()
	if err != nil {
		return nil, nil, err
	}
	var tr *transport
	args := &lxdclient.ConnectionArgs{
		UserAgent:     userAgent,
		SkipGetServer: true, // Connect does it, once, to check trust
	}

	var c lxdclient.InstanceServer
	if ep.socket != "" {
		args.TransportWrapper = func(t *http.Transport) lxdclient.HTTPTransporter {
			tr = newTransport(t, requests, limits)
			return tr
		}
		c, err = lxdclient.ConnectLXDUnixWithContext(ctx, ep.socket, args)
	} else {
		cert, rerr := os.ReadFile(ep.clientCert)
		if rerr != nil {
			return nil, nil, fmt.Errorf("reading client certificate: %w", rerr)
		}
		key, rerr := readClientKey(ep.clientKey)
		if rerr != nil {
			return nil, nil, rerr
		}
		args.TLSClientCert = string(cert)
		args.TLSClientKey = string(key)
		// Chain and host name checks are replaced by the pin (see pin.go).
		args.InsecureSkipVerify = true
		args.TransportWrapper = func(t *http.Transport) lxdclient.HTTPTransporter {
			t.TLSClientConfig.VerifyConnection = verifyPin(ep.address, ep.pin)
			tr = newTransport(t, requests, limits)
			return tr
		}
		c, err = lxdclient.ConnectLXDWithContext(ctx, ep.address, args)
	}
	if err != nil {
		return nil, nil, explainConnectError(ep, err)
	}
	base, ok := c.(*lxdclient.ProtocolLXD)
	if !ok {
		return nil, nil, fmt.Errorf("unexpected LXD client type %T", c)
	}
	if tr == nil {
		return nil, nil, errors.New("LXD client did not install lxnetd's transport")
	}
	return base, tr, nil
}
