package enginetest

import (
	"context"
	"slices"

	"github.com/lxnetd/lxnetd/engine"
)

// The targeted reads: one object each, as the List calls list it, one
// request each.

func (f *Fake) GetNetwork(_ context.Context, name string) (engine.Network, error) {
	f.requests.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.Networks[name]
	if !ok {
		return engine.Network{}, engine.ErrNotFound
	}
	n.Config = cloneMap(n.Config)
	n.UsedBy = f.networkUsedBy(name)
	return f.withLocations(n), nil
}

func (f *Fake) GetProfile(_ context.Context, name string) (engine.Profile, error) {
	f.requests.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.Profiles[name]
	if !ok {
		return engine.Profile{}, engine.ErrNotFound
	}
	p.Config, p.Devices = cloneMap(p.Config), cloneDevices(p.Devices)
	p.UsedBy = f.profileUsedBy(name)
	return p, nil
}

func (f *Fake) GetInstance(_ context.Context, name string) (engine.Instance, error) {
	f.requests.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	i, ok := f.Instances[name]
	if !ok {
		return engine.Instance{}, engine.ErrNotFound
	}
	return f.listedInstance(i), nil
}

func (f *Fake) GetForward(_ context.Context, network, listen, member string) (engine.Forward, error) {
	f.requests.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.forwardNetwork(network); err != nil {
		return engine.Forward{}, err
	}
	key, err := f.findForward(network, listen, member)
	if err != nil {
		return engine.Forward{}, err
	}
	x, ok := f.Forwards[network][key]
	if !ok {
		return engine.Forward{}, engine.ErrNotFound
	}
	x.Config = cloneMap(x.Config)
	x.Ports = slices.Clone(x.Ports)
	return x, nil
}

// listedInstance is i as ListInstances and GetInstance return it: a copy
// of what a caller could modify, with its NICs' address reservations.
func (f *Fake) listedInstance(i engine.Instance) engine.Instance {
	i.Config, i.Devices = cloneMap(i.Config), cloneDevices(i.Devices)
	i.Profiles = slices.Clone(i.Profiles)
	i.Addresses = f.reservations(i)
	return i
}
