package enginetest

import (
	"context"
	"maps"
	"slices"

	"github.com/lxnetd/lxnetd/engine"
)

// The reads: the List calls, one request each for all objects of a kind in
// name order, and the targeted Get calls, one request for one object as its
// List call lists it. What they return is a copy a caller may modify, with
// what LXD computes (used_by, address reservations) filled in.

// listAll lists every object of *objs (read under f.mu) as listed makes it.
func listAll[T any](f *Fake, objs *map[string]T, listed func(string, T) T) ([]T, error) {
	f.requests.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []T
	for _, k := range slices.Sorted(maps.Keys(*objs)) {
		out = append(out, listed(k, (*objs)[k]))
	}
	return out, nil
}

// getOne reads the object name of *objs (under f.mu) as listed makes it.
func getOne[T any](f *Fake, objs *map[string]T, name string, listed func(string, T) T) (T, error) {
	f.requests.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := (*objs)[name]
	if !ok {
		var zero T
		return zero, engine.ErrNotFound
	}
	return listed(name, v), nil
}

func (f *Fake) ListNetworks(context.Context) ([]engine.Network, error) {
	return listAll(f, &f.Networks, f.listedNetwork)
}

func (f *Fake) GetNetwork(_ context.Context, name string) (engine.Network, error) {
	return getOne(f, &f.Networks, name, f.listedNetwork)
}

func (f *Fake) listedNetwork(name string, n engine.Network) engine.Network {
	n.Config = cloneMap(n.Config)
	n.UsedBy = f.networkUsedBy(name)
	return f.withLocations(n)
}

func (f *Fake) ListProfiles(context.Context) ([]engine.Profile, error) {
	return listAll(f, &f.Profiles, f.listedProfile)
}

func (f *Fake) GetProfile(_ context.Context, name string) (engine.Profile, error) {
	return getOne(f, &f.Profiles, name, f.listedProfile)
}

func (f *Fake) listedProfile(name string, p engine.Profile) engine.Profile {
	p.Config, p.Devices = cloneMap(p.Config), cloneDevices(p.Devices)
	p.UsedBy = f.profileUsedBy(name)
	return p
}

func (f *Fake) ListInstances(context.Context) ([]engine.Instance, error) {
	return listAll(f, &f.Instances, f.listedInstance)
}

func (f *Fake) GetInstance(_ context.Context, name string) (engine.Instance, error) {
	return getOne(f, &f.Instances, name, f.listedInstance)
}

// listedInstance also gives the instance its NICs' address reservations.
func (f *Fake) listedInstance(_ string, i engine.Instance) engine.Instance {
	i.Config, i.Devices = cloneMap(i.Config), cloneDevices(i.Devices)
	i.Profiles = slices.Clone(i.Profiles)
	i.Addresses = f.reservations(i)
	return i
}

func (f *Fake) ListACLs(context.Context) ([]engine.ACL, error) {
	return listAll(f, &f.ACLs, f.listedACL)
}

func (f *Fake) GetACL(_ context.Context, name string) (engine.ACL, error) {
	return getOne(f, &f.ACLs, name, f.listedACL)
}

func (f *Fake) listedACL(name string, a engine.ACL) engine.ACL {
	a = cloneACL(a)
	a.UsedBy = f.aclUsedBy(name)
	return a
}

func (f *Fake) ListImages(context.Context) ([]engine.Image, error) {
	return listAll(f, &f.Images, func(_ string, im engine.Image) engine.Image {
		im.Aliases = slices.Clone(im.Aliases)
		return im
	})
}

// ListForwards and GetForward read the forwards of one network, which must
// be one that can have forwards (forwardNetwork).
func (f *Fake) ListForwards(_ context.Context, network string) ([]engine.Forward, error) {
	f.requests.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.forwardNetwork(network); err != nil {
		return nil, err
	}
	var out []engine.Forward
	fw := f.Forwards[network]
	for _, k := range slices.Sorted(maps.Keys(fw)) {
		out = append(out, listedForward(fw[k]))
	}
	return out, nil
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
	return listedForward(x), nil
}

func listedForward(x engine.Forward) engine.Forward {
	x.Config = cloneMap(x.Config)
	x.Ports = slices.Clone(x.Ports)
	return x
}
