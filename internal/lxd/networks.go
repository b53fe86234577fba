package lxd

import (
	"context"
	"fmt"
	"maps"

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
		UsedBy:      n.UsedBy,
		Locations:   n.Locations,
		ETag:        networkETag(n.Description, n.Config),
	}
}

// CreateNetwork creates a managed network. On a cluster the network must
// already be pending on every member (not done here).
func (r *Remote) CreateNetwork(ctx context.Context, n engine.Network) error {
	req := api.NetworksPost{
		Name: n.Name,
		Type: n.Type,
		NetworkPut: api.NetworkPut{
			Description: n.Description,
			Config:      nonNilMap(n.Config),
		},
	}
	if err := r.client(ctx).CreateNetwork(req); err != nil {
		return fmt.Errorf("creating network %q: %w", n.Name, mapError(err))
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
		return fmt.Errorf("updating network %q: %w", n.Name, mapError(err))
	}
	return nil
}

// DeleteNetwork deletes a managed network.
func (r *Remote) DeleteNetwork(ctx context.Context, name string) error {
	if err := r.client(ctx).DeleteNetwork(name); err != nil {
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
			UsedBy:      p.UsedBy,
			ETag:        profileETag(p.Description, p.Config, p.Devices),
		})
	}
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
		return fmt.Errorf("updating profile %q: %w", p.Name, mapError(err))
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
