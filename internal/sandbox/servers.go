package sandbox

import (
	"encoding/json"
	"testing"
)

// The server kinds lxnetd supports, as Daemon.Kind names them. They are the
// values of GET /1.0's environment.server ("lxd", "incus").
const (
	KindLXD   = "lxd"
	KindIncus = "incus"
)

// Servers returns one daemon of every server kind lxnetd supports, in a
// fixed order: the primary LXD daemon, then the Incus daemon. It is the
// matrix of integration tests that must hold on both servers:
//
//	for _, d := range sandbox.Servers(t) {
//		t.Run(d.Kind, func(t *testing.T) { ... d.Remote() ... })
//	}
//
// Like Primary, it fails the test when a daemon is not running (sandbox.sh up
// starts both).
func Servers(t testing.TB) []*Daemon {
	t.Helper()
	return []*Daemon{Primary(t), Incus(t)}
}

// Server is how lxnetd names the daemon's server in plan headers, status and
// logs: "LXD 5.0.2", "Incus 6.0.4" (asked from the daemon itself).
func (d *Daemon) Server(t testing.TB) string {
	t.Helper()
	var srv struct {
		Environment struct {
			Server        string `json:"server"`
			ServerVersion string `json:"server_version"`
		} `json:"environment"`
	}
	if err := json.Unmarshal([]byte(d.Lxc(t, "query", "/1.0")), &srv); err != nil {
		t.Fatalf("decoding /1.0 of %s: %v", d.Name, err)
	}
	kind := map[string]string{KindLXD: "LXD", KindIncus: "Incus"}[srv.Environment.Server]
	if kind == "" {
		t.Fatalf("daemon %s says it is server %q", d.Name, srv.Environment.Server)
	}
	return kind + " " + srv.Environment.ServerVersion
}

// IncusHTTPSRemote is the remote of the Incus daemon's client configuration
// (INCUS_CONF=LXDConf) that reaches it over HTTPS on 127.0.0.1, with a
// client certificate it trusts and its server certificate saved in
// servercerts/, as `incus remote add` leaves them ("incus" is the unix socket).
const IncusHTTPSRemote = "incus-https"
