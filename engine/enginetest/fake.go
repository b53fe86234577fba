// Package enginetest provides an in-memory engine.Remote for unit tests of
// pure logic (the engine's planner and applier, the daemon's loop). It is a
// fake: anything claimed to work with LXD is proven against the sandbox.
package enginetest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/lxnetd/lxnetd/engine"
)

// Fake is an in-memory LXD remote. It behaves as the LXD adapter does
// against LXD 5.0, as far as the conformance suite (package conformance,
// run against both) pins it down: ETags (a new one on every write,
// ErrPreconditionFailed on a stale one, none means unconditional), used_by
// (through profiles too), refusals (deleting what is in use, a NIC on a
// missing network, forwards on a network that cannot have them, starting a
// running instance), and one request per list. The zero value is not
// usable; call New.
type Fake struct {
	name     string
	mu       sync.Mutex
	etag     int
	requests atomic.Int64
	// autoSubnet marks the networks whose IPv4 subnet the fake chose for
	// "auto" (made on first use): no caller could aim a forward into it,
	// so their forward targets are not checked.
	autoSubnet map[string]bool

	Networks  map[string]engine.Network
	Profiles  map[string]engine.Profile
	Instances map[string]engine.Instance
	Forwards  map[string]map[string]engine.Forward // network → ForwardKey(listen address, member) → forward
	ACLs      map[string]engine.ACL                // network ACLs (fake_acl.go); nil until the first create
	// Images by fingerprint. CreateInstance resolves Instance.Image here (an
	// alias, a full fingerprint or a unique prefix) and records the
	// fingerprint in volatile.base_image, as LXD does; an image not found
	// there is refused. New starts with one image, alias
	// "busybox" (fingerprint BusyboxFingerprint), like the sandbox.
	Images map[string]engine.Image

	// Members, when set, makes the fake an LXD cluster of these members
	// (fake_member.go); nil: a standalone server.
	Members []string

	// Fail, when set, is asked before every write ("create-network", name)
	// and may return an error to inject a failure.
	Fail func(op, name string) error
	// Writes records every write as "op name", in order.
	Writes []string
}

var _ engine.Remote = (*Fake)(nil)

// New returns an empty fake remote with a managed "lxdbr0"-less state.
func New(name string) *Fake {
	return &Fake{
		name:      name,
		Networks:  map[string]engine.Network{},
		Profiles:  map[string]engine.Profile{"default": {Name: "default", Config: map[string]string{}, Devices: map[string]map[string]string{}, ETag: "0"}},
		Instances: map[string]engine.Instance{},
		Forwards:  map[string]map[string]engine.Forward{},
		Images: map[string]engine.Image{BusyboxFingerprint: {
			Fingerprint: BusyboxFingerprint, Aliases: []string{"busybox"},
		}},
	}
}

// BusyboxFingerprint is the fingerprint of the image a new Fake has.
const BusyboxFingerprint = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"

func (f *Fake) Name() string    { return f.name }
func (f *Fake) Requests() int64 { return f.requests.Load() }

func (f *Fake) nextETag() string { f.etag++; return strconv.Itoa(f.etag) }

func (f *Fake) write(op, name string) error {
	f.requests.Add(1)
	f.Writes = append(f.Writes, op+" "+name)
	if f.Fail != nil {
		return f.Fail(op, name)
	}
	return nil
}

// creating starts a create of the object name in m (what names it in
// errors: "network"): it records the write (op; Fail may refuse it) and
// refuses a name that exists.
func creating[T any](f *Fake, op string, m map[string]T, what, name string) error {
	if err := f.write(op, name); err != nil {
		return err
	}
	if _, ok := m[name]; ok {
		return fmt.Errorf("%s %q already exists", what, name)
	}
	return nil
}

// stored starts an update or delete of the object name in m: it records
// the write (op; Fail may refuse it) and returns the object, ErrNotFound
// when there is none.
func stored[T any](f *Fake, op string, m map[string]T, name string) (T, error) {
	var zero T
	if err := f.write(op, name); err != nil {
		return zero, err
	}
	v, ok := m[name]
	if !ok {
		return zero, engine.ErrNotFound
	}
	return v, nil
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}

func cloneDevices(m map[string]map[string]string) map[string]map[string]string {
	out := make(map[string]map[string]string, len(m))
	for k, v := range m {
		out[k] = maps.Clone(v)
	}
	return out
}

func (f *Fake) CreateNetwork(_ context.Context, n engine.Network) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := creating(f, "create-network", f.Networks, "network", n.Name); err != nil {
		return err
	}
	if err := f.checkACLs(n.Config); err != nil {
		return err
	}
	n.Config = cloneMap(n.Config)
	if n.Type == "" {
		n.Type = "bridge"
	}
	if n.Type == "bridge" && (n.Config["ipv4.address"] == "auto" || n.Config["ipv4.address"] == "") {
		n.Config["ipv4.address"] = "10.231.254.1/24" // LXD fills "auto" in
		if f.autoSubnet == nil {
			f.autoSubnet = map[string]bool{}
		}
		f.autoSubnet[n.Name] = true
	}
	n.Managed, n.Status, n.ETag = true, "Created", f.nextETag()
	f.Networks[n.Name] = n
	return nil
}

func (f *Fake) UpdateNetwork(_ context.Context, n engine.Network) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	old, err := stored(f, "update-network", f.Networks, n.Name)
	if err != nil {
		return err
	}
	if stale(n.ETag, old.ETag) {
		return engine.ErrPreconditionFailed
	}
	if err := f.checkACLs(n.Config); err != nil {
		return err
	}
	if n.Config["ipv4.address"] != old.Config["ipv4.address"] {
		delete(f.autoSubnet, n.Name)
	}
	old.Config, old.Description, old.ETag = cloneMap(n.Config), n.Description, f.nextETag()
	f.Networks[n.Name] = old
	return nil
}

func (f *Fake) DeleteNetwork(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := stored(f, "delete-network", f.Networks, name); err != nil {
		return err
	}
	if f.networkInUse(name) {
		return fmt.Errorf("network %q is in use", name)
	}
	delete(f.Networks, name)
	delete(f.Forwards, name)
	delete(f.autoSubnet, name)
	return nil
}

func (f *Fake) CreateProfile(_ context.Context, p engine.Profile) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := creating(f, "create-profile", f.Profiles, "profile", p.Name); err != nil {
		return err
	}
	if err := f.checkDevices(p.Devices); err != nil {
		return fmt.Errorf("profile %q: %w", p.Name, err)
	}
	p.Config, p.Devices, p.ETag = cloneMap(p.Config), cloneDevices(p.Devices), f.nextETag()
	f.Profiles[p.Name] = p
	return nil
}

func (f *Fake) UpdateProfile(_ context.Context, p engine.Profile) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	old, err := stored(f, "update-profile", f.Profiles, p.Name)
	if err != nil {
		return err
	}
	if stale(p.ETag, old.ETag) {
		return engine.ErrPreconditionFailed
	}
	if err := f.checkDevices(p.Devices); err != nil {
		return fmt.Errorf("profile %q: %w", p.Name, err)
	}
	p.Config, p.Devices, p.ETag = cloneMap(p.Config), cloneDevices(p.Devices), f.nextETag()
	f.Profiles[p.Name] = p
	return nil
}

func (f *Fake) DeleteProfile(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := stored(f, "delete-profile", f.Profiles, name); err != nil {
		return err
	}
	if u := f.profileUsedBy(name); len(u) > 0 {
		return fmt.Errorf("profile %q is in use", name)
	}
	delete(f.Profiles, name)
	return nil
}

func (f *Fake) CreateInstance(_ context.Context, i engine.Instance) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := creating(f, "create-instance", f.Instances, "instance", i.Name); err != nil {
		return err
	}
	if i.Type == "" {
		i.Type = "container"
	}
	if i.Profiles == nil {
		i.Profiles = []string{"default"} // LXD's default; an empty list means none
	}
	if err := f.checkReferences(i); err != nil {
		return err
	}
	i.Profiles = slices.Clone(i.Profiles)
	i.Config, i.Devices = cloneMap(i.Config), cloneDevices(i.Devices)
	fp, err := f.resolveImage(i.Image)
	if err != nil {
		return err
	}
	i.Config["volatile.base_image"] = fp
	i.Status, i.ETag, i.Image = "Stopped", f.nextETag(), ""
	f.Instances[i.Name] = i
	return nil
}

func (f *Fake) UpdateInstance(_ context.Context, i engine.Instance) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	old, err := stored(f, "update-instance", f.Instances, i.Name)
	if err != nil {
		return err
	}
	if stale(i.ETag, old.ETag) {
		return engine.ErrPreconditionFailed
	}
	if err := f.checkReferences(i); err != nil {
		return err
	}
	config := cloneMap(i.Config)
	for k, v := range old.Config {
		// The adapter keeps the keys LXD manages unless the update sets them.
		if strings.HasPrefix(k, "volatile.") || strings.HasPrefix(k, "image.") {
			if _, set := config[k]; !set {
				config[k] = v
			}
		}
	}
	if i.Profiles == nil {
		i.Profiles = []string{}
	}
	old.Config, old.Devices, old.Profiles, old.Description = config, cloneDevices(i.Devices), slices.Clone(i.Profiles), i.Description
	old.ETag = f.nextETag()
	f.Instances[i.Name] = old
	return nil
}

func (f *Fake) SetInstanceState(_ context.Context, name, action string, force bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.write(action+"-instance", name); err != nil {
		return err
	}
	i, ok := f.Instances[name]
	if !ok {
		return engine.ErrNotFound
	}
	switch action {
	case "start":
		if i.Status == "Running" {
			return fmt.Errorf("instance %q is already running", name)
		}
		i.Status = "Running"
	case "stop":
		if i.Status == "Stopped" {
			return fmt.Errorf("instance %q is already stopped", name)
		}
		i.Status = "Stopped"
	default:
		return fmt.Errorf("unknown action %q", action)
	}
	f.Instances[name] = i
	return nil
}

func (f *Fake) DeleteInstance(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	// A running instance is force-stopped first, as the adapter does.
	if _, err := stored(f, "delete-instance", f.Instances, name); err != nil {
		return err
	}
	delete(f.Instances, name)
	return nil
}

// AddImage stores an image under fingerprint fp with aliases (moving an
// alias that pointed elsewhere, as "lxc image alias" does).
func (f *Fake) AddImage(fp string, aliases ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, im := range f.Images {
		im.Aliases = slices.DeleteFunc(slices.Clone(im.Aliases), func(a string) bool { return slices.Contains(aliases, a) })
		f.Images[k] = im
	}
	f.Images[fp] = engine.Image{Fingerprint: fp, Aliases: slices.Clone(aliases)}
}

// resolveImage finds the image ref names by the rule the LXD adapter
// follows (engine.LooksLikeFingerprint): a fingerprint prefix of exactly
// one image, else an alias. Like LXD, it refuses a reference that names no
// image (with an error that is not ErrNotFound: the instance is not what is
// missing).
func (f *Fake) resolveImage(ref string) (string, error) {
	var prefixed []string
	for fp, im := range f.Images {
		switch {
		case !engine.LooksLikeFingerprint(ref) && slices.Contains(im.Aliases, ref):
			return fp, nil
		case engine.LooksLikeFingerprint(ref) && strings.HasPrefix(fp, ref):
			prefixed = append(prefixed, fp)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0], nil
	}
	return "", fmt.Errorf("image %q not found", ref)
}

func (f *Fake) CreateForward(_ context.Context, fw engine.Forward) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.write("create-forward", fw.Network+"/"+fw.ListenAddress); err != nil {
		return err
	}
	if err := f.forwardNetwork(fw.Network); err != nil {
		return err
	}
	if f.Forwards[fw.Network] == nil {
		f.Forwards[fw.Network] = map[string]engine.Forward{}
	}
	m, err := f.member(fw.Location)
	if err != nil {
		return err
	}
	fw.Location = m
	if _, ok := f.Forwards[fw.Network][ForwardKey(fw.ListenAddress, m)]; ok {
		return fmt.Errorf("forward %s/%s already exists", fw.Network, fw.ListenAddress)
	}
	if err := f.checkTargets(fw); err != nil {
		return err
	}
	fw.Config, fw.Ports = cloneMap(fw.Config), slices.Clone(fw.Ports)
	f.Forwards[fw.Network][ForwardKey(fw.ListenAddress, m)] = fw
	return nil
}

func (f *Fake) UpdateForward(_ context.Context, fw engine.Forward) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.write("update-forward", fw.Network+"/"+fw.ListenAddress); err != nil {
		return err
	}
	if err := f.forwardNetwork(fw.Network); err != nil {
		return err
	}
	m, err := f.member(fw.Location)
	if err != nil {
		return err
	}
	fw.Location = m
	if _, ok := f.Forwards[fw.Network][ForwardKey(fw.ListenAddress, m)]; !ok {
		return engine.ErrNotFound
	}
	if err := f.checkTargets(fw); err != nil {
		return err
	}
	fw.Config, fw.Ports = cloneMap(fw.Config), slices.Clone(fw.Ports)
	f.Forwards[fw.Network][ForwardKey(fw.ListenAddress, m)] = fw
	return nil
}

func (f *Fake) DeleteForward(_ context.Context, network, listen, member string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.write("delete-forward", network+"/"+listen); err != nil {
		return err
	}
	if err := f.forwardNetwork(network); err != nil {
		return err
	}
	m, err := f.member(member)
	if err != nil {
		return err
	}
	if _, ok := f.Forwards[network][ForwardKey(listen, m)]; !ok {
		return engine.ErrNotFound
	}
	delete(f.Forwards[network], ForwardKey(listen, m))
	return nil
}
