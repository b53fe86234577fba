// Package bench measures lxnetd at host scale against real LXD (make bench):
// the CLI's cold apply, no-op plan, one-port change and prune, and the
// daemon's drift repair, edit convergence, echo passes and idle cost, each
// beside the same work done directly against LXD in the same run.
//
// lxnetd is measured from the outside, as a user runs it: the real binary
// talks to LXD through a Proxy that counts its requests, so the numbers do
// not depend on lxnetd's internals (they hold for the daemon's event cache
// as for a full re-read) and the same counting applies to the lxc script
// and the direct baselines.
package bench

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Request is one HTTP request a client sent through a Proxy. Body is kept
// for writes only, so a baseline can replay them.
type Request struct {
	Method, Path, RawQuery string
	Body                   []byte
	At                     time.Time // when it arrived
}

// Write reports whether the request changes something in LXD.
func (r Request) Write() bool { return r.Method != http.MethodGet && r.Method != http.MethodHead }

// List reports whether the request lists a collection (GET /1.0/networks,
// /1.0/profiles, /1.0/instances, /1.0/images, /1.0/networks/NAME/forwards):
// what a pass that re-reads everything costs, and what an event-fed cache
// avoids.
func (r Request) List() bool {
	if r.Write() {
		return false
	}
	p := strings.Split(strings.Trim(r.Path, "/"), "/")
	switch {
	case len(p) == 2 && p[0] == "1.0":
		switch p[1] {
		case "networks", "profiles", "instances", "images":
			return true
		}
	case len(p) == 4 && p[0] == "1.0" && p[1] == "networks" && p[3] == "forwards":
		return true
	}
	return false
}

// Event reports whether the request is the event stream (a websocket that
// stays open: neither a read nor a write).
func (r Request) Event() bool { return r.Path == "/1.0/events" }

// Proxy relays HTTP (and the event websocket) from a unix socket of its own
// to LXD's unix socket and records every request.
type Proxy struct {
	Socket string // where clients connect: unix://<Socket>
	srv    *http.Server
	mu     sync.Mutex
	log    []Request
}

// NewProxy listens on socket and relays to the LXD socket upstream.
func NewProxy(socket, upstream string) (*Proxy, error) {
	_ = os.Remove(socket)
	ln, err := net.Listen("unix", socket)
	if err != nil {
		return nil, err
	}
	p := &Proxy{Socket: socket}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: "lxd"})
	rp.Transport = &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", upstream)
		},
		MaxIdleConnsPerHost: 16,
	}
	rp.FlushInterval = -1 // events stream
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, At: time.Now()}
		if req.Write() && r.Body != nil {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			req.Body = b
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		p.mu.Lock()
		p.log = append(p.log, req)
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// Mark returns a position in the request log, for Since.
func (p *Proxy) Mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.log)
}

// Since returns the requests recorded after mark.
func (p *Proxy) Since(mark int) []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.log[mark:]...)
}

// Close stops the proxy (open event streams are cut).
func (p *Proxy) Close() error { return p.srv.Close() }

// Counts are the requests of a measurement by kind.
type Counts struct {
	Reads  int `json:"reads"`
	Writes int `json:"writes"`
	Lists  int `json:"lists"` // of the reads, collection lists
}

// Count classifies requests (the event stream is not counted).
func Count(reqs []Request) Counts {
	var c Counts
	for _, r := range reqs {
		switch {
		case r.Event():
		case r.Write():
			c.Writes++
		default:
			c.Reads++
			if r.List() {
				c.Lists++
			}
		}
	}
	return c
}

// LeaseWait is how long lxnetd spent between its first write of the lease
// (PATCH /1.0) and its first object write: the cost of "one writer at a
// time" in a run (0 when there was no lease or no object write).
func LeaseWait(reqs []Request) time.Duration {
	var lease time.Time
	for _, r := range reqs {
		switch {
		case !r.Write():
		case r.Path == "/1.0":
			if lease.IsZero() {
				lease = r.At
			}
		case !lease.IsZero():
			return r.At.Sub(lease)
		}
	}
	return 0
}
