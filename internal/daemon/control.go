package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// DefaultSocket is where `lxnetd run` listens and `lxnetd status|reload` ask.
const DefaultSocket = "/run/lxnetd/control.sock"

// The control protocol: one JSON Request line, one JSON Response line.
// It is deliberately tiny: the socket is root-only (mode 0600 in a 0700
// directory), so it needs no authentication of its own.

// Request is sent by `lxnetd status` and `lxnetd reload`.
type Request struct {
	Command string `json:"command"` // "status" or "reload"
}

// Response answers a Request.
type Response struct {
	OK bool `json:"ok"`
	// Error is one line (for reload: the rejected file and line).
	Error string `json:"error,omitempty"`
	// Diagnostics is the full text of a rejected configuration, with snippets.
	Diagnostics string `json:"diagnostics,omitempty"`
	// Changed says a reload found a different configuration and applied it.
	Changed bool    `json:"changed,omitempty"`
	Status  *Status `json:"status,omitempty"`
}

// controlRequest carries a request into the daemon's loop.
type controlRequest struct {
	req   Request
	reply chan Response
}

// listenControl creates the root-only control socket at path. A stale socket
// left by a crashed daemon is replaced; a live one means another daemon runs.
func listenControl(path string) (*net.UnixListener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating control socket directory: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s is in use: is another lxnetd running?", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("removing stale control socket: %w", err)
	}
	// Create the socket with mode 0600 from the start (no window in which
	// another user could connect).
	old := syscall.Umask(0o177)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listening on control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("restricting control socket: %w", err)
	}
	return l, nil
}

// serveControl accepts connections until l is closed and hands each request
// to the daemon's loop through reqs.
func serveControl(ctx context.Context, l *net.UnixListener, reqs chan<- controlRequest) {
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			line, err := bufio.NewReader(c).ReadBytes('\n')
			if err != nil && len(line) == 0 {
				return
			}
			var resp Response
			var req Request
			if err := json.Unmarshal(line, &req); err != nil {
				resp = Response{Error: "malformed request: " + err.Error()}
			} else {
				cr := controlRequest{req: req, reply: make(chan Response, 1)}
				select {
				case reqs <- cr:
					select {
					case resp = <-cr.reply:
					case <-ctx.Done():
						resp = Response{Error: "daemon is stopping"}
					}
				case <-ctx.Done():
					resp = Response{Error: "daemon is stopping"}
				}
			}
			_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
			_ = json.NewEncoder(c).Encode(resp)
		}()
	}
}

// Ask sends one request to the daemon listening on socket and returns its
// answer. A reload waits for the daemon to finish reading the directory.
func Ask(ctx context.Context, socket string, req Request) (*Response, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, fmt.Errorf("connecting to the lxnetd daemon at %s (is lxnetd run active?): %w", socket, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return nil, fmt.Errorf("sending %s request: %w", req.Command, err)
	}
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return nil, fmt.Errorf("reading the daemon's answer to %s: %w", req.Command, err)
	}
	return &resp, nil
}
