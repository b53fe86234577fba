package lxd

import (
	"context"
	"fmt"
	"path"

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
	return configString(srv.Config[key]), etag, nil
}

// configString is a server configuration value as the string it was set to.
func configString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// ServerConfigKeyViews reads key as every cluster member sees it (GET
// /1.0?target=MEMBER, one request each), or as the one server sees it when
// it is not clustered. Members apply a change of the cluster-wide
// configuration one after another: the lease waits until they agree
// (engine/lease), which TestLeaseAcrossClusterMembers needs.
func (r *Remote) ServerConfigKeyViews(ctx context.Context, key string) ([]string, error) {
	c := r.client(ctx)
	srv, _, err := c.GetServer()
	if err != nil {
		return nil, fmt.Errorf("reading the server configuration: %w", mapError(err))
	}
	if !srv.Environment.ServerClustered {
		return []string{configString(srv.Config[key])}, nil
	}
	members, err := c.GetClusterMemberNames()
	if err != nil {
		return nil, fmt.Errorf("listing cluster members: %w", mapError(err))
	}
	views := make([]string, 0, len(members))
	for _, m := range members {
		s, _, err := r.targetClient(ctx, path.Base(m)).GetServer()
		if err != nil {
			return nil, fmt.Errorf("reading the server configuration on member %s: %w", path.Base(m), mapError(err))
		}
		views = append(views, configString(s.Config[key]))
	}
	return views, nil
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
