package lxd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/canonical/lxd/shared/api"

	"github.com/lxnetd/lxnetd/engine"
)

// ListNetworks returns every network LXD lists (managed networks and the
// host's interfaces) in one request. In a cluster, member-specific keys are
// not included (LXD strips them without a target).
func (r *Remote) ListNetworks(ctx context.Context) ([]engine.Network, error) {
	nets, err := r.client(ctx).GetNetworks()
	if err != nil {
		return nil, fmt.Errorf("listing networks: %w", mapError(err))
	}
	out := make([]engine.Network, 0, len(nets))
	for _, n := range nets {
		out = append(out, networkFromAPI(n))
	}
	sortNetworks(out)
	return out, nil
}

func networkFromAPI(n api.Network) engine.Network {
	return engine.Network{
		Name:        n.Name,
		Type:        n.Type,
		Description: n.Description,
		Config:      nonNilMap(n.Config),
		Managed:     n.Managed,
		Status:      n.Status,
		UsedBy:      usedBy(n.UsedBy),
		Locations:   clusterMembers(n.Locations),
		ETag:        networkETag(n.Description, n.Config),
	}
}

// standalone is the location LXD reports for everything on a server that
// is not clustered; the engine's model says "no member" with "" instead.
const standalone = "none"

// clusterMembers drops LXD's "none" from a network's locations, so a
// standalone server's networks list no location, as engine.Network says.
func clusterMembers(locations []string) []string {
	var out []string
	for _, l := range locations {
		if l != standalone {
			out = append(out, l)
		}
	}
	return out
}

// CreateNetwork creates a managed network: one request on a standalone
// server. On a cluster LXD wants the network defined on every member first
// (a "pending" create with target=<member>, carrying only the keys that are
// member-specific, see memberKeys), then created cluster-wide with the rest
// of the config: 1 request for the member names + one per member + 1
// (+ 2 to set a description, which LXD 5.0.2 drops on a cluster). The
// member-specific keys get the same value on every member. If a step fails
// after the first pending create, the pending network is deleted again, so
// a failed create leaves nothing behind (a pending network would otherwise
// look like an existing, unowned one to the next plan).
func (r *Remote) CreateNetwork(ctx context.Context, n engine.Network) error {
	req := api.NetworksPost{
		Name: n.Name,
		Type: n.Type,
		NetworkPut: api.NetworkPut{
			Description: n.Description,
			Config:      nonNilMap(n.Config),
		},
	}
	if r.clustered {
		return r.createClusterNetwork(ctx, req)
	}
	if err := retryIncusLinkRace(ctx, func() error { return r.client(ctx).CreateNetwork(req) }); err != nil {
		return fmt.Errorf("creating network %q: %w", n.Name, mapError(err))
	}
	return nil
}

// memberKeys are the network config keys LXD keeps per cluster member
// (lxd/db NodeSpecificNetworkConfig): allowed only in a targeted request.
var memberKeys = []string{"bgp.ipv4.nexthop", "bgp.ipv6.nexthop", "bridge.external_interfaces", "parent"}

func (r *Remote) createClusterNetwork(ctx context.Context, req api.NetworksPost) error {
	members, err := r.client(ctx).GetClusterMemberNames()
	if err != nil {
		return fmt.Errorf("creating network %q: listing cluster members: %w", req.Name, mapError(err))
	}
	members = sorted(members) // the first failing member is the one reported
	global := maps.Clone(req.Config)
	perMember := map[string]string{}
	for _, k := range memberKeys {
		if v, ok := global[k]; ok {
			perMember[k] = v
			delete(global, k)
		}
	}
	pending := false
	fail := func(err error) error {
		if pending {
			// Best effort, with a context of its own: ctx may be why it failed.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
			defer cancel()
			if derr := r.client(cctx).DeleteNetwork(req.Name); derr != nil && !errors.Is(mapError(derr), engine.ErrNotFound) {
				err = fmt.Errorf("%w (and removing the pending network failed: %v)", err, derr)
			}
		}
		return fmt.Errorf("creating network %q: %w", req.Name, err)
	}
	// LXD defines an OVN network on every member itself, and refuses a
	// targeted create for it.
	if req.Type == "ovn" {
		members = nil
	}
	for _, m := range members {
		p := api.NetworksPost{Name: req.Name, Type: req.Type, NetworkPut: api.NetworkPut{Config: perMember}}
		if err := r.targetClient(ctx, m).CreateNetwork(p); err != nil {
			return fail(fmt.Errorf("defining it on cluster member %q: %w", m, mapError(err)))
		}
		pending = true
	}
	req.Config = global
	c := r.client(ctx)
	if err := c.CreateNetwork(req); err != nil {
		return fail(mapError(err))
	}
	// LXD 5.0.2 drops the description of a network created on a cluster
	// (the pending rows have none, the global create does not set it).
	if req.Description != "" {
		cur, etag, err := c.GetNetwork(req.Name)
		if err == nil {
			err = c.UpdateNetwork(req.Name, api.NetworkPut{Config: cur.Config, Description: req.Description}, etag)
		}
		if err != nil {
			return fmt.Errorf("creating network %q: setting its description: %w", req.Name, mapError(err))
		}
	}
	return nil
}

// UpdateNetwork replaces the network's description and config (PUT). With
// n.ETag set (as ListNetworks returned it) the write happens only if the
// network is unchanged since it was listed; see etag.go. Costs two requests.
func (r *Remote) UpdateNetwork(ctx context.Context, n engine.Network) error {
	c := r.client(ctx)
	cur, lxdETag, err := c.GetNetwork(n.Name)
	if err != nil {
		return fmt.Errorf("updating network %q: %w", n.Name, mapError(err))
	}
	if n.ETag != "" && networkETag(cur.Description, cur.Config) != n.ETag {
		return fmt.Errorf("updating network %q: changed since it was read: %w", n.Name, engine.ErrPreconditionFailed)
	}
	put := api.NetworkPut{Description: n.Description, Config: maps.Clone(nonNilMap(n.Config))}
	if err := c.UpdateNetwork(n.Name, put, lxdETag); err != nil {
		err = refusalUnlessGone(mapError(err), func() error { _, _, err := c.GetNetwork(n.Name); return err })
		return fmt.Errorf("updating network %q: %w", n.Name, err)
	}
	return nil
}

// DeleteNetwork deletes a managed network.
func (r *Remote) DeleteNetwork(ctx context.Context, name string) error {
	if err := retryIncusLinkRace(ctx, func() error { return r.client(ctx).DeleteNetwork(name) }); err != nil {
		return fmt.Errorf("deleting network %q: %w", name, mapError(err))
	}
	return nil
}

// ListProfiles returns every profile of the project in one request.
func (r *Remote) ListProfiles(ctx context.Context) ([]engine.Profile, error) {
	profiles, err := r.client(ctx).GetProfiles()
	if err != nil {
		return nil, fmt.Errorf("listing profiles: %w", mapError(err))
	}
	out := make([]engine.Profile, 0, len(profiles))
	for _, p := range profiles {
		out = append(out, engine.Profile{
			Name:        p.Name,
			Description: p.Description,
			Config:      nonNilMap(p.Config),
			Devices:     nonNilDevices(p.Devices),
			UsedBy:      usedBy(p.UsedBy),
			ETag:        profileETag(p.Description, p.Config, p.Devices),
		})
	}
	sortProfiles(out)
	return out, nil
}

// CreateProfile creates a profile with its config and devices.
func (r *Remote) CreateProfile(ctx context.Context, p engine.Profile) error {
	req := api.ProfilesPost{
		Name: p.Name,
		ProfilePut: api.ProfilePut{
			Description: p.Description,
			Config:      nonNilMap(p.Config),
			Devices:     nonNilDevices(p.Devices),
		},
	}
	if err := r.client(ctx).CreateProfile(req); err != nil {
		return fmt.Errorf("creating profile %q: %w", p.Name, mapError(err))
	}
	return nil
}

// UpdateProfile replaces the profile's description, config and devices
// (PUT), conditional on p.ETag like UpdateNetwork. Costs two requests.
func (r *Remote) UpdateProfile(ctx context.Context, p engine.Profile) error {
	c := r.client(ctx)
	cur, lxdETag, err := c.GetProfile(p.Name)
	if err != nil {
		return fmt.Errorf("updating profile %q: %w", p.Name, mapError(err))
	}
	if p.ETag != "" && profileETag(cur.Description, cur.Config, cur.Devices) != p.ETag {
		return fmt.Errorf("updating profile %q: changed since it was read: %w", p.Name, engine.ErrPreconditionFailed)
	}
	put := api.ProfilePut{
		Description: p.Description,
		Config:      nonNilMap(p.Config),
		Devices:     nonNilDevices(p.Devices),
	}
	if err := c.UpdateProfile(p.Name, put, lxdETag); err != nil {
		err = refusalUnlessGone(mapError(err), func() error { _, _, err := c.GetProfile(p.Name); return err })
		return fmt.Errorf("updating profile %q: %w", p.Name, err)
	}
	return nil
}

// DeleteProfile deletes a profile (LXD refuses while instances use it).
func (r *Remote) DeleteProfile(ctx context.Context, name string) error {
	if err := r.client(ctx).DeleteProfile(name); err != nil {
		return fmt.Errorf("deleting profile %q: %w", name, mapError(err))
	}
	return nil
}
