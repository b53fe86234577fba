package lxd

import (
	"context"
	"fmt"

	"github.com/canonical/lxd/shared/api"

	"github.com/lxnetd/lxnetd/engine"
)

// ListForwards returns all forwards of one managed network (one request).
// Forwards carry no ETag: LXD 5.0.2 computes one but does not check If-Match
// on forward writes. On a cluster the list holds every member's forwards,
// each with its member as location (verified on LXD 5.0.2: the same listen
// address may be on several members; the list ignores ?target=).
func (r *Remote) ListForwards(ctx context.Context, network string) ([]engine.Forward, error) {
	list := func() ([]api.NetworkForward, error) { return r.client(ctx).GetNetworkForwards(network) }
	conv := func(f api.NetworkForward) engine.Forward { return forwardFromAPI(network, f) }
	return listed(fmt.Sprintf("forwards of network %q", network), list, conv, sortForwards)
}

func forwardFromAPI(network string, f api.NetworkForward) engine.Forward {
	out := engine.Forward{
		Network:       network,
		ListenAddress: f.ListenAddress,
		Description:   f.Description,
		Config:        nonNilMap(f.Config),
		Ports:         convertAll(f.Ports, func(p api.NetworkForwardPort) engine.ForwardPort { return engine.ForwardPort(p) }),
		Location:      f.Location,
	}
	if out.Location == standalone {
		out.Location = ""
	}
	sortForwardPorts(out.Ports)
	return out
}

func forwardPut(f engine.Forward) api.NetworkForwardPut {
	return api.NetworkForwardPut{
		Description: f.Description,
		Config:      nonNilMap(f.Config),
		Ports:       convertAll(f.Ports, func(p engine.ForwardPort) api.NetworkForwardPort { return api.NetworkForwardPort(p) }),
	}
}

// CreateForward creates a forward with all its ports in one request, on
// cluster member f.Location when set (?target=; without it LXD creates it
// on the member the request reaches).
func (r *Remote) CreateForward(ctx context.Context, f engine.Forward) error {
	req := api.NetworkForwardsPost{ListenAddress: f.ListenAddress, NetworkForwardPut: forwardPut(f)}
	if err := r.targetClient(ctx, f.Location).CreateNetworkForward(f.Network, req); err != nil {
		return fmt.Errorf("creating forward %s on network %q: %w", f.ListenAddress, f.Network, mapError(err))
	}
	return nil
}

// UpdateForward replaces the forward's description, config and ports (PUT,
// one request, unconditional), on cluster member f.Location.
func (r *Remote) UpdateForward(ctx context.Context, f engine.Forward) error {
	if err := r.targetClient(ctx, f.Location).UpdateNetworkForward(f.Network, f.ListenAddress, forwardPut(f), ""); err != nil {
		return fmt.Errorf("updating forward %s on network %q: %w", f.ListenAddress, f.Network, mapError(err))
	}
	return nil
}

// DeleteForward deletes the forward of one listen address on one cluster
// member ("": the member the request reaches; LXD deletes only that
// member's, and answers 404 for a forward on another).
func (r *Remote) DeleteForward(ctx context.Context, network, listenAddress, member string) error {
	if err := r.targetClient(ctx, member).DeleteNetworkForward(network, listenAddress); err != nil {
		return fmt.Errorf("deleting forward %s on network %q: %w", listenAddress, network, mapError(err))
	}
	return nil
}
