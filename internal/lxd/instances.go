package lxd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	lxdclient "github.com/canonical/lxd/client"
	"github.com/canonical/lxd/shared/api"

	"github.com/lxnetd/lxnetd/engine"
)

// ListInstances returns every instance of the project in one request,
// without its state (GET /1.0/instances?recursion=1). With state
// (recursion=2) LXD gathers every instance's runtime state server-side:
// 4-19 s for 200 stopped containers on a loaded 5.0.2 daemon against
// 0.4-0.7 s without. The status is in recursion=1, and the addresses the
// engine needs come from the configuration (see nicAddresses).
func (r *Remote) ListInstances(ctx context.Context) ([]engine.Instance, error) {
	list := func() ([]api.Instance, error) { return r.client(ctx).GetInstances(api.InstanceTypeAny) }
	return listed("instances", list, instanceFromAPI, sortInstances)
}

func instanceFromAPI(in api.Instance) engine.Instance {
	i := engine.Instance{
		Name:        in.Name,
		Type:        in.Type,
		Description: in.Description,
		Profiles:    in.Profiles,
		Config:      nonNilMap(in.Config),
		Devices:     nonNilDevices(in.Devices),
		Status:      in.Status,
		Location:    in.Location,
		Addresses:   nicAddresses(in.ExpandedDevices),
		ETag:        instanceETag(in.Description, in.Profiles, in.Config, in.Devices),
	}
	if in.Profiles == nil {
		i.Profiles = []string{}
	}
	if i.Location == standalone {
		i.Location = ""
	}
	return i
}

// nicAddresses maps each NIC device (local or from a profile) with a DHCP
// reservation (ipv4.address) to that address: the one LXD's DHCP server
// hands the instance, whether it runs yet or not. Reading what the
// instance's interfaces report instead would need its state (see
// ListInstances), and would change with every DHCP renewal.
func nicAddresses(devices map[string]map[string]string) map[string][]string {
	out := map[string][]string{}
	for dev, props := range devices {
		if props["type"] != "nic" {
			continue
		}
		if a, err := netip.ParseAddr(props["ipv4.address"]); err == nil && a.Is4() {
			out[dev] = []string{a.String()}
		}
	}
	return out
}

// CreateInstance creates (does not start) an instance and waits for the
// operation. i.Image is an image alias or fingerprint on this server, or
// "server:alias" naming an lxc remote (see imageSource). i.Location, when
// set, places the instance on that cluster member ("none", LXD's name for
// no member, is accepted as none). Nil i.Profiles means
// LXD's default (["default"]); an empty slice means no profiles.
func (r *Remote) CreateInstance(ctx context.Context, i engine.Instance) error {
	if err := r.createInstance(ctx, i); err != nil {
		// A 404 names a missing image, profile or network: see refusal.
		return fmt.Errorf("creating instance %q: %w", i.Name, refusal(err))
	}
	return nil
}

func (r *Remote) createInstance(ctx context.Context, i engine.Instance) error {
	if i.Image == "" {
		return errors.New("no image given")
	}
	req := api.InstancesPost{
		Name: i.Name,
		Type: api.InstanceType(i.Type),
		InstancePut: api.InstancePut{
			Description: i.Description,
			Config:      nonNilMap(i.Config),
			Devices:     nonNilDevices(i.Devices),
			Profiles:    i.Profiles,
		},
	}
	if server, alias, ok := strings.Cut(i.Image, ":"); ok {
		return r.createFromRemoteImage(ctx, r.targetClient(ctx, i.Location), server, alias, req)
	}
	req.Source = api.InstanceSource{Type: api.SourceTypeImage}
	if engine.LooksLikeFingerprint(i.Image) {
		req.Source.Fingerprint = i.Image
	} else {
		req.Source.Alias = i.Image
	}
	if err := r.operation(ctx, i.Location, "POST", "/instances", req, ""); err != nil {
		return fmt.Errorf("from image %q: %w", i.Image, err)
	}
	return nil
}

// createFromRemoteImage creates an instance from an image on another
// server, named by its lxc remote name (the lxc client config is read at
// each call). The image is resolved on the source (alias, else fingerprint)
// and LXD pulls it from there.
func (r *Remote) createFromRemoteImage(ctx context.Context, c *lxdclient.ProtocolLXD, server, alias string, req api.InstancesPost) error {
	src, err := r.connectImageServer(ctx, server)
	if err != nil {
		return fmt.Errorf("connecting to image server %q: %w", server, err)
	}
	defer src.Disconnect()
	fp := alias
	if entry, _, err := src.GetImageAlias(alias); err == nil {
		fp = entry.Target
	}
	img, _, err := src.GetImage(fp)
	if err != nil {
		return fmt.Errorf("finding image %q on %q: %w", alias, server, mapError(err))
	}
	op, err := c.CreateInstanceFromImage(src, *img, req)
	if err != nil {
		return mapError(err)
	}
	// RemoteOperation.Wait takes no context.
	done := make(chan error, 1)
	go func() { done <- op.Wait() }()
	select {
	case err := <-done:
		return mapError(err)
	case <-ctx.Done():
		_ = op.CancelTarget()
		return ctx.Err()
	}
}

// connectImageServer connects to an lxc remote as an image source (an
// incus remote for an Incus server; see imageClientTool). Its requests count
// towards Requests.
func (r *Remote) connectImageServer(ctx context.Context, name string) (lxdclient.ImageServer, error) {
	cfg, err := loadClientConfig(r.imageClientTool(), os.Getenv)
	if err != nil {
		return nil, err
	}
	lr, err := cfg.remote(name)
	if err != nil {
		return nil, err
	}
	limits, err := defaultDeadlines()
	if err != nil {
		return nil, err
	}
	args := &lxdclient.ConnectionArgs{UserAgent: userAgent}
	var pin string
	if strings.HasPrefix(lr.Addr, "https://") {
		// The server certificate lxc accepted doubles as the certificate the
		// target LXD checks when it pulls the image.
		if pem, err := os.ReadFile(cfg.serverCertPath(name)); err == nil {
			args.TLSServerCert = string(pem)
			if pin, err = pemFingerprint(cfg.serverCertPath(name)); err != nil {
				return nil, err
			}
		}
	}
	args.TransportWrapper = func(t *http.Transport) lxdclient.HTTPTransporter {
		if pin != "" {
			t.TLSClientConfig.VerifyConnection = verifyPin(lr.Addr, pin)
		}
		return newTransport(t, r.requests, limits)
	}
	switch {
	case lr.Protocol == "simplestreams":
		return lxdclient.ConnectSimpleStreams(lr.Addr, args)
	case strings.HasPrefix(lr.Addr, "unix:"):
		return lxdclient.ConnectLXDUnixWithContext(ctx, strings.TrimPrefix(strings.TrimPrefix(lr.Addr, "unix:"), "//"), args)
	case lr.Public:
		return lxdclient.ConnectPublicLXDWithContext(ctx, lr.Addr, args)
	default:
		cert, key := cfg.clientCertPaths()
		certPEM, err := os.ReadFile(cert)
		if err != nil {
			return nil, fmt.Errorf("reading lxc client certificate: %w", err)
		}
		keyPEM, err := readClientKey(key)
		if err != nil {
			return nil, fmt.Errorf("lxc client configuration: %w", err)
		}
		args.TLSClientCert, args.TLSClientKey = string(certPEM), string(keyPEM)
		return lxdclient.ConnectLXDWithContext(ctx, lr.Addr, args)
	}
}

// UpdateInstance replaces the instance's description, profiles, config and
// local devices (PUT) and waits, conditional on i.ETag as described in
// etag.go. Keys LXD manages (volatile.*, image.*) are kept from the current
// instance unless i.Config sets them, and architecture, ephemeral and
// stateful are kept as they are. Costs two requests plus the operation wait.
func (r *Remote) UpdateInstance(ctx context.Context, i engine.Instance) error {
	c := r.client(ctx)
	cur, lxdETag, err := c.GetInstance(i.Name)
	if err != nil {
		return fmt.Errorf("updating instance %q: %w", i.Name, mapError(err))
	}
	if i.ETag != "" && instanceETag(cur.Description, cur.Profiles, cur.Config, cur.Devices) != i.ETag {
		return fmt.Errorf("updating instance %q: changed since it was read: %w", i.Name, engine.ErrPreconditionFailed)
	}
	config := maps.Clone(nonNilMap(i.Config))
	for k, v := range cur.Config {
		if strings.HasPrefix(k, "volatile.") || strings.HasPrefix(k, "image.") {
			if _, set := config[k]; !set {
				config[k] = v
			}
		}
	}
	profiles := i.Profiles
	if profiles == nil {
		profiles = []string{}
	}
	put := api.InstancePut{
		Architecture: cur.Architecture,
		Config:       config,
		Devices:      nonNilDevices(i.Devices),
		Ephemeral:    cur.Ephemeral,
		Profiles:     profiles,
		Stateful:     cur.Stateful,
		Description:  i.Description,
	}
	if err := r.operation(ctx, "", "PUT", "/instances/"+url.PathEscape(i.Name), put, lxdETag); err != nil {
		err = refusalUnlessGone(err, func() error { _, _, err := c.GetInstance(i.Name); return err })
		return fmt.Errorf("updating instance %q: %w", i.Name, r.lostStorage(err, i.Name))
	}
	return nil
}

// SetInstanceState runs action ("start", "stop", "restart", "freeze",
// "unfreeze") and waits. A stop without force asks the instance to shut
// down and waits for it up to the context's deadline (60 s without one)
// before LXD gives up with an error.
func (r *Remote) SetInstanceState(ctx context.Context, name, action string, force bool) error {
	timeout := 60
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(1, int(time.Until(dl).Seconds()))
	}
	req := api.InstanceStatePut{Action: action, Timeout: timeout, Force: force}
	if err := r.operation(ctx, "", "PUT", "/instances/"+url.PathEscape(name)+"/state", req, ""); err != nil {
		return fmt.Errorf("%s instance %q: %w", actionGerund(action), name, r.lostStorage(err, name))
	}
	return nil
}

func actionGerund(action string) string {
	switch action {
	case "start":
		return "starting"
	case "stop":
		return "stopping"
	}
	return "changing state (" + action + ") of"
}

// DeleteInstance deletes an instance and waits; a running instance is
// force-stopped first (LXD refuses to delete it otherwise); an instance that
// stopped on its own meanwhile is deleted all the same. Costs one GET more
// than the delete (two when the stop fails).
func (r *Remote) DeleteInstance(ctx context.Context, name string) error {
	c := r.client(ctx)
	cur, _, err := c.GetInstance(name)
	if err != nil {
		return fmt.Errorf("deleting instance %q: %w", name, mapError(err))
	}
	path := "/instances/" + url.PathEscape(name)
	if cur.StatusCode != api.Stopped {
		stop := api.InstanceStatePut{Action: "stop", Force: true, Timeout: -1}
		if err := r.operation(ctx, "", "PUT", path+"/state", stop, ""); err != nil {
			// It may have stopped on its own since the GET ("container is
			// not running"): then there is nothing left to stop.
			if now, _, gerr := c.GetInstance(name); gerr != nil || now.StatusCode != api.Stopped {
				return fmt.Errorf("deleting instance %q: stopping it: %w", name, err)
			}
		}
	}
	if err := r.operation(ctx, "", "DELETE", path, nil, ""); err != nil {
		return fmt.Errorf("deleting instance %q: %w", name, err)
	}
	return nil
}
