package lxd

import (
	"context"
	"fmt"

	"github.com/canonical/lxd/shared/api"

	"github.com/lxnetd/lxnetd/engine/lease"
)

// The server configuration, as far as leases need it (package engine/lease).

var _ lease.Store = (*Remote)(nil)

// ServerConfigKey reads one key of the server configuration (GET /1.0) and
// the ETag LXD computes over the whole configuration.
func (r *Remote) ServerConfigKey(ctx context.Context, key string) (value, etag string, err error) {
	srv, etag, err := r.client(ctx).GetServer()
	if err != nil {
		return "", "", fmt.Errorf("reading the server configuration: %w", mapError(err))
	}
	switch v := srv.Config[key].(type) {
	case nil:
		return "", etag, nil
	case string:
		return v, etag, nil
	default:
		return fmt.Sprint(v), etag, nil
	}
}

// SetServerConfigKey writes one key of the server configuration ("" removes
// it) with PATCH /1.0 and If-Match: etag, so no other key is rewritten. A
// stale ETag fails with engine.ErrPreconditionFailed. The client's
// UpdateServer is not used: it is a PUT, which replaces the whole
// configuration and would drop keys written since the read.
func (r *Remote) SetServerConfigKey(ctx context.Context, key, value, etag string) error {
	put := api.ServerPut{Config: map[string]any{key: value}}
	if _, _, err := r.client(ctx).RawQuery("PATCH", "/1.0", put, etag); err != nil {
		return fmt.Errorf("writing server configuration key %s: %w", key, mapError(err))
	}
	return nil
}
