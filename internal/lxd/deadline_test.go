package lxd

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// stalledListener accepts connections on a unix socket and never answers
// (it reads and discards what is sent, as a hung LXD would).
func stalledListener(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "stalled.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() { _, _ = c.Read(make([]byte, 1<<16)) }()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return sock
}

// TestConnectToStalledServerEnds: a server that accepts and never answers
// fails Connect after the per-request deadline, with an error that names
// it, even though the caller's context has no deadline of its own.
func TestConnectToStalledServerEnds(t *testing.T) {
	sock := stalledListener(t)
	t.Setenv(requestTimeoutEnv, "500ms")
	start := time.Now()
	_, err := Connect(context.Background(), &spec.Remote{Name: "hung", Address: "unix://" + sock})
	took := time.Since(start)
	if err == nil {
		t.Fatal("Connect to a stalled server succeeded")
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "within 500ms") {
		t.Fatalf("error %q does not name the per-request deadline", err)
	}
	if testing.Verbose() {
		t.Log(err)
	}
	// connectTimeout (15 s) would end it too; the request deadline must be what did.
	if took > 5*time.Second {
		t.Fatalf("Connect took %s with a 500ms request deadline", took)
	}
}

// TestDeadlineBounds: an operation wait gets the long bound, everything
// else the request bound; the environment overrides the request bound.
func TestDeadlineBounds(t *testing.T) {
	d, err := deadlinesFromEnv(func(string) string { return "" })
	if err != nil || d.request != RequestTimeout || d.operation != OperationTimeout {
		t.Fatalf("defaults: %+v, %v", d, err)
	}
	req := func(method, path string) *http.Request {
		r, err := http.NewRequest(method, "http://lxd"+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, tc := range []struct {
		r    *http.Request
		want time.Duration
	}{
		{req("GET", "/1.0/operations/0d3f/wait"), OperationTimeout},
		{req("GET", "/1.0/operations/0d3f"), RequestTimeout},
		{req("GET", "/1.0/instances"), RequestTimeout},
		{req("POST", "/1.0/networks"), RequestTimeout},
	} {
		if got := d.bound(tc.r); got != tc.want {
			t.Errorf("%s %s: bound %s, want %s", tc.r.Method, tc.r.URL.Path, got, tc.want)
		}
	}
	env := func(v string) func(string) string { return func(string) string { return v } }
	if d, err := deadlinesFromEnv(env("20m")); err != nil || d.request != 20*time.Minute || d.operation != 20*time.Minute {
		t.Fatalf("20m: %+v, %v (the operation bound must not be shorter than the request bound)", d, err)
	}
	for _, bad := range []string{"soon", "0s", "-1s"} {
		if _, err := deadlinesFromEnv(env(bad)); err == nil || !strings.Contains(err.Error(), requestTimeoutEnv) {
			t.Errorf("%q: error %v, want one naming %s", bad, err, requestTimeoutEnv)
		}
	}
}
