package lxd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// Deadlines on every LXD request.
//
// The dialers only bound connecting: an LXD that accepts a connection (or a
// TLS handshake's TCP part) and then never answers would hang a request, and
// with it a plan or a daemon pass, for as long as it stalls. So the
// transport gives every HTTP request a deadline of its own, covering the
// dial, the TLS handshake, the wait for the answer and reading its body:
//
//   - RequestTimeout (60 s) for every ordinary request. LXD answers lists
//     and synchronous writes in milliseconds to seconds here; the slowest
//     legitimate ones are a network create on a big cluster (the member
//     that answers fans out to every member) and GET /1.0/instances with
//     recursion=2 on a host with many instances (LXD collects each one's
//     state), which take seconds, not a minute.
//   - OperationTimeout (10 min) for GET /1.0/operations/<id>/wait: waiting
//     for a background operation (an instance create that unpacks an image,
//     a stop that waits for the init system) is long by nature, so it has a
//     bound of its own. A wait cut by it leaves the operation running in
//     LXD; the next pass observes what it did.
//   - The event websocket has none: it is idle for as long as nothing
//     happens. It is dialed outside RoundTrip, and a dead one is detected
//     by TCP keep-alives and by the worker reconnecting after failed passes.
//
// LXNETD_REQUEST_TIMEOUT (a Go duration such as "90s") overrides
// RequestTimeout, for an LXD known to be slower, and lets tests use a short
// one; the operation bound is never shorter than it.
const (
	RequestTimeout   = 60 * time.Second
	OperationTimeout = 10 * time.Minute
)

// requestTimeoutEnv names the environment variable that overrides
// RequestTimeout.
const requestTimeoutEnv = "LXNETD_REQUEST_TIMEOUT"

// deadlines are the bounds one connection's transport applies.
type deadlines struct {
	request, operation time.Duration
}

// deadlinesFromEnv returns the default deadlines, with RequestTimeout
// replaced by $LXNETD_REQUEST_TIMEOUT when set.
func deadlinesFromEnv(getenv func(string) string) (deadlines, error) {
	d := deadlines{request: RequestTimeout, operation: OperationTimeout}
	if v := getenv(requestTimeoutEnv); v != "" {
		t, err := time.ParseDuration(v)
		if err != nil || t <= 0 {
			return d, fmt.Errorf("%s=%q: want a positive duration such as 90s", requestTimeoutEnv, v)
		}
		d.request = t
		d.operation = max(d.operation, t)
	}
	return d, nil
}

// defaultDeadlines is deadlinesFromEnv(os.Getenv).
func defaultDeadlines() (deadlines, error) { return deadlinesFromEnv(os.Getenv) }

// bound returns the deadline for req.
func (d deadlines) bound(req *http.Request) time.Duration {
	if isOperationWait(req) {
		return d.operation
	}
	return d.request
}

// isOperationWait reports whether req waits for a background operation.
func isOperationWait(req *http.Request) bool {
	p := req.URL.Path
	return req.Method == http.MethodGet && strings.HasPrefix(p, "/1.0/operations/") && strings.HasSuffix(p, "/wait")
}

// roundTrip sends req through next with its deadline. The deadline also
// covers reading the body: it is released when the body is closed.
func (d deadlines) roundTrip(next http.RoundTripper, req *http.Request) (*http.Response, error) {
	limit := d.bound(req)
	ctx, cancel := context.WithTimeout(req.Context(), limit)
	resp, err := next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && req.Context().Err() == nil {
			return nil, &DeadlineError{Method: req.Method, Path: req.URL.Path, Limit: limit, Err: err}
		}
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel, ctx: ctx, parent: req.Context(), limit: limit, req: req}
	return resp, nil
}

// DeadlineError is a request LXD did not answer within its deadline.
type DeadlineError struct {
	Method, Path string
	Limit        time.Duration
	Err          error
}

func (e *DeadlineError) Error() string {
	return fmt.Sprintf("LXD did not answer %s %s within %s (the per-request deadline; set %s for a slower LXD)",
		e.Method, e.Path, e.Limit, requestTimeoutEnv)
}

func (e *DeadlineError) Unwrap() error { return context.DeadlineExceeded }

// cancelOnClose releases a request's deadline when its body is closed, and
// names the deadline when it cut the body short.
type cancelOnClose struct {
	io.ReadCloser
	cancel      context.CancelFunc
	ctx, parent context.Context
	limit       time.Duration
	req         *http.Request
}

func (b *cancelOnClose) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && errors.Is(b.ctx.Err(), context.DeadlineExceeded) && b.parent.Err() == nil {
		err = &DeadlineError{Method: b.req.Method, Path: b.req.URL.Path, Limit: b.limit, Err: err}
	}
	return n, err
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
