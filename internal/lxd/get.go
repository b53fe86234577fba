package lxd

import (
	"context"
	"fmt"

	"github.com/lxnetd/lxnetd/engine"
)

// The targeted reads: one object each, converted exactly as the list calls
// convert it (same ETag scheme, same used_by parsing), in one request.

// GetNetwork reads one network (GET /1.0/networks/<name>).
func (r *Remote) GetNetwork(ctx context.Context, name string) (engine.Network, error) {
	n, _, err := r.client(ctx).GetNetwork(name)
	if err != nil {
		return engine.Network{}, fmt.Errorf("reading network %q: %w", name, mapError(err))
	}
	return networkFromAPI(*n), nil
}

// GetProfile reads one profile (GET /1.0/profiles/<name>).
func (r *Remote) GetProfile(ctx context.Context, name string) (engine.Profile, error) {
	p, _, err := r.client(ctx).GetProfile(name)
	if err != nil {
		return engine.Profile{}, fmt.Errorf("reading profile %q: %w", name, mapError(err))
	}
	return profileFromAPI(*p), nil
}

// GetInstance reads one instance as ListInstances lists it, without state
// (GET /1.0/instances/<name>).
func (r *Remote) GetInstance(ctx context.Context, name string) (engine.Instance, error) {
	in, _, err := r.client(ctx).GetInstance(name)
	if err != nil {
		return engine.Instance{}, fmt.Errorf("reading instance %q: %w", name, mapError(err))
	}
	return instanceFromAPI(*in), nil
}

// GetForward reads the forward of one listen address
// (GET /1.0/networks/<network>/forwards/<address>), on one cluster member
// (?target=; "" finds it on any member, and fails when several have one).
func (r *Remote) GetForward(ctx context.Context, network, listenAddress, member string) (engine.Forward, error) {
	f, _, err := r.targetClient(ctx, member).GetNetworkForward(network, listenAddress)
	if err != nil {
		return engine.Forward{}, fmt.Errorf("reading forward %s of network %q: %w", listenAddress, network, mapError(err))
	}
	return forwardFromAPI(network, *f), nil
}
