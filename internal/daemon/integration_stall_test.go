//go:build integration

package daemon_test

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/internal/daemon"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// stallProxy forwards a unix socket to LXD's and, on demand, stops passing
// bytes in either direction while keeping every connection open: an LXD
// that accepted the request and never answers.
type stallProxy struct {
	path, target string

	mu     sync.Mutex
	resume chan struct{} // nil while forwarding; closed to end a stall
	conns  []net.Conn
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	p := &stallProxy{path: filepath.Join(t.TempDir(), "lxd.sock"), target: target}
	l, err := net.Listen("unix", p.path)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("unix", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go p.pipe(up, c)
			go p.pipe(c, up)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		p.unstall()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			c.Close()
		}
	})
	return p
}

// pipe copies src to dst, holding every chunk while stalled.
func (p *stallProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			resume := p.resume
			p.mu.Unlock()
			if resume != nil {
				<-resume
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *stallProxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resume == nil {
		p.resume = make(chan struct{})
	}
}

func (p *stallProxy) unstall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resume != nil {
		close(p.resume)
		p.resume = nil
	}
}

// TestStalledLXDEndsPass puts a proxy in front of the sandbox's primary
// that stops answering mid-run. A pass started then is shown by status as
// running (and since when) while it waits, and ends with the per-request
// deadline's error (5 s here) while LXD still stalls: before the deadlines
// it hung for as long as LXD did. Once LXD answers again the remote
// converges without restarting lxnetd.
func TestStalledLXDEndsPass(t *testing.T) {
	primary := sandbox.Primary(t)
	proxy := newStallProxy(t, primary.Socket)
	const deadline = 5 * time.Second
	owner, prof := sandbox.UniqueName(t, "stall"), sandbox.UniqueName(t, "stallp")
	t.Cleanup(func() { _, _ = primary.LxcErr("profile", "delete", prof) })

	dir := t.TempDir()
	config := func(role string) string {
		return fmt.Sprintf("lxnet {\n  owner = %q\n  resync_interval = \"1h\"\n}\nremote \"stalled\" {\n  address = \"unix://%s\"\n}\nprofile %q {\n  config = { \"user.role\" = %q }\n}\n",
			owner, proxy.path, prof, role)
	}
	writeFile(t, filepath.Join(dir, "main.hcl"), config("one"))
	p := startLxnetd(t, dir, "LXNETD_REQUEST_TIMEOUT="+deadline.String())
	p.waitConverged(t, 120*time.Second)

	proxy.stall()
	stalled := time.Now()
	writeFile(t, filepath.Join(dir, "main.hcl"), config("two"))
	st := p.waitFor(t, "a pass running against the stalled LXD", 60*time.Second, func(s *daemon.Status) bool {
		r := remoteStatus(t, s, "stalled")
		return r.Busy && !r.PassStarted.IsZero() && time.Since(r.PassStarted) > time.Second
	})
	r := remoteStatus(t, st, "stalled")
	t.Logf("status while stuck: pass started %s ago, state %s", time.Since(r.PassStarted).Round(time.Millisecond), r.State)

	st = p.waitFor(t, "the stuck pass ended by its deadline", 60*time.Second, func(s *daemon.Status) bool {
		r := remoteStatus(t, s, "stalled")
		return r.State == daemon.StateFailing && !r.Busy
	})
	ended := time.Since(stalled)
	r = remoteStatus(t, st, "stalled")
	t.Logf("pass failed %s after the stall began: %s", ended.Round(time.Millisecond), r.LastError)
	if !strings.Contains(r.LastError, "within "+deadline.String()) {
		t.Errorf("the failed pass's error does not name the per-request deadline: %q", r.LastError)
	}
	if !r.PassStarted.IsZero() {
		t.Errorf("status shows a pass running after it failed: %+v", r)
	}

	proxy.unstall()
	p.waitConverged(t, 180*time.Second)
	if got := strings.TrimSpace(primary.Lxc(t, "profile", "get", prof, "user.role")); got != "two" {
		t.Fatalf("after LXD answered again, user.role = %q, want two", got)
	}
}
