package lxd

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	lxdclient "github.com/canonical/lxd/client"
)

// transport wraps the *http.Transport the LXD client builds, for two reasons:
//
//   - it counts every HTTP request (RoundTrip), so Requests() covers list
//     calls, writes and the GET /1.0/operations/<id>/wait of operation
//     waits. The event websocket is dialed by gorilla
//     directly from Transport().DialContext and never passes RoundTrip, so it
//     is not counted.
//   - it remembers every connection dialed through DialContext (all unix
//     socket connections; for https only the websockets, as HTTPS requests go
//     through the client's own DialTLSContext) so Close can cut the event
//     websockets: the client's Disconnect does not (in this client version it
//     only cancels an already cancelled context), and an idle listener's
//     websocket otherwise stays open until the client's once-a-minute sweep.
type transport struct {
	t        *http.Transport
	requests *atomic.Int64
	limits   deadlines // per-request deadlines (deadline.go)

	conns closeSet[*trackedConn] // open connections, cut by closeAll
}

var _ lxdclient.HTTPTransporter = (*transport)(nil)

func newTransport(t *http.Transport, requests *atomic.Int64, limits deadlines) *transport {
	tr := &transport{t: t, requests: requests, limits: limits}
	dial := t.DialContext
	if dial == nil {
		// https: the client leaves DialContext unset (HTTP uses DialTLSContext);
		// websockets fall back to it. Keep-alives detect a vanished server.
		d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 15 * time.Second}
		dial = d.DialContext
	}
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return tr.track(c), nil
	}
	return tr
}

// RoundTrip counts and forwards one request, with its deadline.
func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tr.requests.Add(1)
	return tr.limits.roundTrip(tr.t, req)
}

// Transport returns the wrapped transport (the LXD client reads its dialer
// and TLS config to open websockets).
func (tr *transport) Transport() *http.Transport { return tr.t }

func (tr *transport) track(c net.Conn) net.Conn {
	tc := &trackedConn{Conn: c, tr: tr}
	if !tr.conns.add(tc) {
		_ = c.Close()
	}
	return tc
}

// closeAll closes every open tracked connection and any dialed later.
func (tr *transport) closeAll() {
	for _, c := range tr.conns.close() {
		_ = c.Conn.Close()
	}
	tr.t.CloseIdleConnections()
}

type trackedConn struct {
	net.Conn
	tr   *transport
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.tr.conns.remove(c) })
	return c.Conn.Close()
}
