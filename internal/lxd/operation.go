package lxd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	lxdclient "github.com/canonical/lxd/client"
	"github.com/canonical/lxd/shared/api"
)

// Operations without websockets.
//
// The client's own calls that return an Operation (CreateInstance,
// UpdateInstance, UpdateInstanceState, DeleteInstance) open an event
// websocket before sending the request, to wait on operation events. With a
// client per call (needed for per-call contexts, see Remote.client) that is
// one websocket per write, each left open until the client's once-a-minute
// sweep, each receiving every event of the project meanwhile. Instead the
// adapter sends the request with RawQuery and waits with one long-polling
// GET /1.0/operations/<id>/wait, which honours the call's context and is
// counted by Requests.
//
// LXD 5.0.2 answers the wait with the final operation (status "Failure" and
// err set when it failed); newer LXD answers a failed operation with an
// error response. Both are handled.

// operation sends method path (relative to /1.0, may carry a query) with
// body and If-Match etag, and waits for the background operation LXD starts.
// target places the request on a cluster member ("" for none).
func (r *Remote) operation(ctx context.Context, target, method, path string, body any, etag string) error {
	c := r.client(ctx)
	resp, _, err := c.RawQuery(method, r.apiPath(path, target), body, etag)
	if err != nil {
		return mapError(err)
	}
	op, err := resp.MetadataAsOperation()
	if err != nil {
		return fmt.Errorf("reading the operation LXD started: %w", err)
	}
	return r.waitOperation(ctx, c, op, target)
}

func (r *Remote) waitOperation(ctx context.Context, c *lxdclient.ProtocolLXD, op *api.Operation, target string) error {
	for !op.StatusCode.IsFinal() {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("waiting for operation %s (%s): %w", op.ID, op.Description, err)
		}
		resp, _, err := c.RawQuery("GET", r.apiPath("/operations/"+url.PathEscape(op.ID)+"/wait?timeout=-1", target), nil, "")
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("waiting for operation %s (%s): %w", op.ID, op.Description, ctx.Err())
			}
			return mapError(err)
		}
		next, err := resp.MetadataAsOperation()
		if err != nil {
			return fmt.Errorf("reading operation %s: %w", op.ID, err)
		}
		op = next
	}
	if op.StatusCode != api.Success {
		if op.Err != "" {
			return errors.New(op.Err)
		}
		return fmt.Errorf("operation %s (%s) ended %s", op.ID, op.Description, op.Status)
	}
	return nil
}

// apiPath turns a path below /1.0 into the URL path RawQuery wants, with
// the remote's project and the cluster target in the query, as the client's
// own calls add them.
func (r *Remote) apiPath(path, target string) string {
	p, rawQuery, _ := strings.Cut(path, "?")
	q, _ := url.ParseQuery(rawQuery)
	q.Set("project", r.project)
	if target != "" && target != standalone {
		q.Set("target", target)
	}
	return "/1.0" + p + "?" + q.Encode()
}
