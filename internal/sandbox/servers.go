package sandbox

import "testing"

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
