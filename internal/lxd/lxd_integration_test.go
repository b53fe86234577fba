//go:build integration

package lxd

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// These tests run against the sandbox's real LXD daemons (make sandbox-up):
// primary over its unix socket, secondary over pinned HTTPS.

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func connect(t *testing.T, d *sandbox.Daemon) *Remote {
	t.Helper()
	sr := d.Remote()
	r, err := Connect(testCtx(t), &sr)
	if err != nil {
		t.Fatalf("Connect(%s): %v", d.Name, err)
	}
	t.Cleanup(r.Close)
	return r
}

// bothDaemons runs f as a subtest against primary (unix) and secondary (https).
func bothDaemons(t *testing.T, f func(t *testing.T, d *sandbox.Daemon, r *Remote)) {
	for _, get := range []func(testing.TB) *sandbox.Daemon{sandbox.Primary, sandbox.Secondary} {
		d := get(t)
		t.Run(d.Name, func(t *testing.T) { f(t, d, connect(t, d)) })
	}
}

func findNetwork(t *testing.T, r *Remote, name string) (engine.Network, bool) {
	t.Helper()
	nets, err := r.ListNetworks(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nets {
		if n.Name == name {
			return n, true
		}
	}
	return engine.Network{}, false
}

func gateway(cidr string) string { return sandbox.HostIP(cidr, 1) + "/24" }

func TestConnectUnix(t *testing.T) {
	d := sandbox.Primary(t)
	r := connect(t, d)
	if r.Requests() != 1 {
		t.Errorf("Connect issued %d requests, want 1 (GET /1.0)", r.Requests())
	}
	if r.Address() != "unix://"+d.Socket || r.Project() != "default" {
		t.Errorf("Address %q Project %q", r.Address(), r.Project())
	}

	// LXD_DIR is honoured for "unix://", like lxc does.
	t.Setenv("LXD_SOCKET", "")
	t.Setenv("LXD_DIR", d.Dir)
	r2, err := Connect(testCtx(t), &spec.Remote{Name: "viaenv", Address: "unix://"})
	if err != nil {
		t.Fatalf("Connect with LXD_DIR: %v", err)
	}
	r2.Close()

	// A missing socket and a missing project are clear errors.
	_, err = Connect(testCtx(t), &spec.Remote{Name: "x", Address: "unix://" + filepath.Join(t.TempDir(), "unix.socket")})
	if err == nil || !strings.Contains(err.Error(), "does not exist: is LXD running?") {
		t.Errorf("missing socket: %v", err)
	}
	_, err = Connect(testCtx(t), &spec.Remote{Name: "x", Address: "unix://" + d.Socket, Project: "no-such-project"})
	if err == nil || !strings.Contains(err.Error(), `project "no-such-project" does not exist`) {
		t.Errorf("missing project: %v", err)
	}
}

// TestConnectUnixErrors: a socket nobody listens on, and a socket this user
// may not use (the primary's, reached as user nobody from a copy of this test
// binary), both give an error that says what is wrong.
func TestConnectUnixErrors(t *testing.T) {
	if sock := os.Getenv("LXNETD_TEST_UNPRIVILEGED_SOCKET"); sock != "" {
		_, err := Connect(t.Context(), &spec.Remote{Name: "x", Address: "unix://" + sock})
		if err == nil || !strings.Contains(err.Error(), "no permission") {
			t.Fatalf("unprivileged connect: %v", err)
		}
		t.Logf("unprivileged: %v", err)
		return
	}

	d := sandbox.Primary(t)
	stale := filepath.Join(t.TempDir(), "unix.socket")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	_, err = Connect(testCtx(t), &spec.Remote{Name: "x", Address: "unix://" + stale})
	if err == nil || !strings.Contains(err.Error(), "nothing listens on LXD socket") {
		t.Errorf("stale socket: %v", err)
	}
	t.Logf("stale socket: %v", err)

	if os.Getuid() != 0 {
		t.Fatal("the sandbox tests run as root")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "lxnetd-lxd-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "lxd.test")
	copyFile(t, exe, bin)
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(testCtx(t), bin, "-test.run=^TestConnectUnixErrors$", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LXNETD_TEST_UNPRIVILEGED_SOCKET="+d.Socket, "HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("unprivileged run failed: %v\n%s", err, out)
	}
	t.Logf("unprivileged run:\n%s", out)
	if !strings.Contains(string(out), "no permission") {
		t.Errorf("unprivileged run did not report the permission problem:\n%s", out)
	}
}

func TestConnectHTTPSPinning(t *testing.T) {
	d := sandbox.Secondary(t)
	r := connect(t, d)
	if r.Requests() != 1 {
		t.Errorf("Connect issued %d requests, want 1", r.Requests())
	}

	wrong := d.Remote()
	wrong.ServerFingerprint = "sha256:" + strings.Repeat("0", 64)
	_, err := Connect(testCtx(t), &wrong)
	var pe *PinError
	if !errors.As(err, &pe) || pe.Actual != d.ServerFingerprint || pe.Expected != wrong.ServerFingerprint {
		t.Fatalf("wrong pin: got %v, want a PinError naming %s", err, d.ServerFingerprint)
	}
	t.Logf("wrong pin: %v", err)

	unpinned := d.Remote()
	unpinned.ServerFingerprint = ""
	_, err = Connect(testCtx(t), &unpinned)
	if !errors.As(err, &pe) || pe.Actual != d.ServerFingerprint || pe.Expected != "" ||
		!strings.Contains(err.Error(), `server_fingerprint = "`+d.ServerFingerprint+`"`) {
		t.Fatalf("missing pin: got %v, want a PinError that says how to pin %s", err, d.ServerFingerprint)
	}
	t.Logf("missing pin: %v", err)

	// Nothing listens on this port: refused at once, not after a timeout.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := l.Addr().String()
	l.Close()
	down := d.Remote()
	down.Address = "https://" + closedAddr
	start := time.Now()
	_, err = Connect(testCtx(t), &down)
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("unreachable: %v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("unreachable address took %v to fail", time.Since(start))
	}
	t.Logf("unreachable: %v (%v)", err, time.Since(start))

	// A server that accepts TCP but never answers: bounded by the context.
	l, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	silent := d.Remote()
	silent.Address = "https://" + l.Addr().String()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	start = time.Now()
	_, err = Connect(ctx, &silent)
	if err == nil || time.Since(start) > 8*time.Second {
		t.Errorf("silent server: err %v after %v", err, time.Since(start))
	}
	t.Logf("silent server: %v (%v)", err, time.Since(start))
}

func TestNetworkRoundTrip(t *testing.T) {
	bothDaemons(t, func(t *testing.T, d *sandbox.Daemon, r *Remote) {
		ctx := testCtx(t)
		name := sandbox.UniqueName(t, "lxa")
		cidr := sandbox.AllocSubnet(t)
		t.Cleanup(func() { _, _ = d.LxcErr("network", "delete", name) })

		want := engine.Network{Name: name, Type: "bridge", Description: "adapter test",
			Config: map[string]string{"ipv4.address": gateway(cidr), "ipv4.nat": "false", "ipv6.address": "none", "user.lxnetd.owner": "test"}}
		if err := r.CreateNetwork(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, ok := findNetwork(t, r, name)
		if !ok {
			t.Fatalf("network %s not listed after create", name)
		}
		if !got.Managed || got.Type != "bridge" || got.Description != "adapter test" || got.Status != "Created" || got.ETag == "" {
			t.Errorf("listed network: %+v", got)
		}
		for k, v := range want.Config {
			if got.Config[k] != v {
				t.Errorf("config %s = %q, want %q", k, got.Config[k], v)
			}
		}

		// Update with the listed ETag succeeds.
		upd := got
		upd.Config = maps2(got.Config, "user.x", "1")
		upd.Description = "updated"
		if err := r.UpdateNetwork(ctx, upd); err != nil {
			t.Fatal(err)
		}
		after, _ := findNetwork(t, r, name)
		if after.Config["user.x"] != "1" || after.Description != "updated" || after.ETag == got.ETag {
			t.Errorf("after update: %+v", after)
		}
		// The ETag from before the update is stale now.
		stale := got
		stale.Config = maps2(got.Config, "user.y", "2")
		if err := r.UpdateNetwork(ctx, stale); !errors.Is(err, engine.ErrPreconditionFailed) {
			t.Errorf("update with stale etag: %v, want ErrPreconditionFailed", err)
		}
		// So is the current one once someone else changes the network.
		d.Lxc(t, "network", "set", name, "user.byhand=yes")
		after.Config = maps2(after.Config, "user.y", "2")
		if err := r.UpdateNetwork(ctx, after); !errors.Is(err, engine.ErrPreconditionFailed) {
			t.Errorf("update after a change by hand: %v, want ErrPreconditionFailed", err)
		}
		if out := d.Lxc(t, "network", "get", name, "user.y"); strings.TrimSpace(out) != "" {
			t.Errorf("refused update was written: user.y=%q", out)
		}

		missing := engine.Network{Name: name + "x", Config: map[string]string{}}
		if err := r.UpdateNetwork(ctx, missing); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("update of a missing network: %v, want ErrNotFound", err)
		}
		if err := r.DeleteNetwork(ctx, name); err != nil {
			t.Fatal(err)
		}
		if _, ok := findNetwork(t, r, name); ok {
			t.Error("network still listed after delete")
		}
		if err := r.DeleteNetwork(ctx, name); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("second delete: %v, want ErrNotFound", err)
		}
	})
}

// maps2 returns a copy of m with k=v set.
func maps2(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for mk, mv := range m {
		if mk != k {
			out[mk] = mv
		}
	}
	return out
}

func findProfile(t *testing.T, r *Remote, name string) (engine.Profile, bool) {
	t.Helper()
	ps, err := r.ListProfiles(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Name == name {
			return p, true
		}
	}
	return engine.Profile{}, false
}

func TestProfileRoundTrip(t *testing.T) {
	bothDaemons(t, func(t *testing.T, d *sandbox.Daemon, r *Remote) {
		ctx := testCtx(t)
		name := sandbox.UniqueName(t, "lxa")
		t.Cleanup(func() { _, _ = d.LxcErr("profile", "delete", name) })
		want := engine.Profile{
			Name: name, Description: "adapter test",
			Config: map[string]string{"user.lxnetd.owner": "test", "limits.cpu": "1"},
			Devices: map[string]map[string]string{
				"web": {"type": "proxy", "listen": "tcp:127.0.0.1:18080", "connect": "tcp:127.0.0.1:80"},
			},
		}
		if err := r.CreateProfile(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, ok := findProfile(t, r, name)
		if !ok {
			t.Fatal("profile not listed after create")
		}
		if diff := cmp.Diff(want, got, cmpIgnore("ETag", "UsedBy")); diff != "" {
			t.Errorf("listed profile (-want +got):\n%s", diff)
		}

		upd := got
		upd.Devices = map[string]map[string]string{"web": {"type": "proxy", "listen": "tcp:127.0.0.1:18081", "connect": "tcp:127.0.0.1:80"}}
		if err := r.UpdateProfile(ctx, upd); err != nil {
			t.Fatal(err)
		}
		after, _ := findProfile(t, r, name)
		if after.Devices["web"]["listen"] != "tcp:127.0.0.1:18081" {
			t.Errorf("device not updated: %v", after.Devices)
		}
		if err := r.UpdateProfile(ctx, got); !errors.Is(err, engine.ErrPreconditionFailed) {
			t.Errorf("update with stale etag: %v, want ErrPreconditionFailed", err)
		}
		d.Lxc(t, "profile", "set", name, "user.byhand=yes")
		if err := r.UpdateProfile(ctx, after); !errors.Is(err, engine.ErrPreconditionFailed) {
			t.Errorf("update after a change by hand: %v, want ErrPreconditionFailed", err)
		}
		if err := r.DeleteProfile(ctx, name); err != nil {
			t.Fatal(err)
		}
		if _, ok := findProfile(t, r, name); ok {
			t.Error("profile listed after delete")
		}
		if err := r.DeleteProfile(ctx, name); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("second delete: %v, want ErrNotFound", err)
		}
		if err := r.UpdateProfile(ctx, engine.Profile{Name: name}); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("update of a missing profile: %v, want ErrNotFound", err)
		}
	})
}

func cmpIgnore(fields ...string) cmp.Option {
	return cmp.FilterPath(func(p cmp.Path) bool {
		sf, ok := p.Last().(cmp.StructField)
		return ok && slices.Contains(fields, sf.Name())
	}, cmp.Ignore())
}

func findInstance(t *testing.T, r *Remote, name string) (engine.Instance, bool) {
	t.Helper()
	is, err := r.ListInstances(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range is {
		if i.Name == name {
			return i, true
		}
	}
	return engine.Instance{}, false
}

// deleteInstanceByHand removes an instance the test created, whatever state it is in.
func deleteInstanceByHand(d *sandbox.Daemon, name string) {
	_, _ = d.LxcErr("delete", "--force", name)
}

func TestInstanceRoundTrip(t *testing.T) {
	bothDaemons(t, func(t *testing.T, d *sandbox.Daemon, r *Remote) {
		ctx := testCtx(t)
		bridge := sandbox.UniqueName(t, "lxa")
		cidr := d.CreateBridge(t, bridge)
		name := sandbox.UniqueName(t, "lxa")
		t.Cleanup(func() { deleteInstanceByHand(d, name) })
		ip := sandbox.HostIP(cidr, 20)

		want := engine.Instance{
			Name: name, Type: "container", Image: "busybox", Description: "adapter test",
			Profiles: []string{"default"},
			Config:   map[string]string{"user.lxnetd.owner": "test"},
			Devices: map[string]map[string]string{
				"eth0": {"type": "nic", "network": bridge, "ipv4.address": ip},
			},
		}
		before := r.Requests()
		if err := r.CreateInstance(ctx, want); err != nil {
			t.Fatal(err)
		}
		// POST /1.0/instances and the GET /1.0/operations/<id> of the wait.
		if n := r.Requests() - before; n < 2 {
			t.Errorf("create counted %d requests, want the POST and the operation wait", n)
		}
		got, ok := findInstance(t, r, name)
		if !ok {
			t.Fatal("instance not listed after create")
		}
		if got.Status != "Stopped" || got.Type != "container" || got.ETag == "" ||
			!slices.Equal(got.Profiles, want.Profiles) || got.Config["user.lxnetd.owner"] != "test" {
			t.Errorf("listed instance: %+v", got)
		}
		if diff := cmp.Diff(want.Devices, got.Devices); diff != "" {
			t.Errorf("local devices (-want +got):\n%s", diff)
		}

		if err := r.SetInstanceState(ctx, name, "start", false); err != nil {
			t.Fatal(err)
		}
		// The reservation is the address, listed without instance state.
		got, _ = findInstance(t, r, name)
		if !slices.Equal(got.Addresses["eth0"], []string{ip}) {
			t.Errorf("listed addresses %v, want eth0's reservation %s", got.Addresses, ip)
		}
		if got.Status != "Running" {
			t.Errorf("status %q after start", got.Status)
		}

		// Update with the listed ETag; volatile keys survive though not sent.
		upd := got
		upd.Config = map[string]string{"user.lxnetd.owner": "test", "user.x": "1"}
		upd.Description = "updated"
		if err := r.UpdateInstance(ctx, upd); err != nil {
			t.Fatal(err)
		}
		after, _ := findInstance(t, r, name)
		if after.Config["user.x"] != "1" || after.Description != "updated" {
			t.Errorf("not updated: %+v", after)
		}
		if after.Config["volatile.eth0.hwaddr"] == "" || after.Config["volatile.eth0.hwaddr"] != got.Config["volatile.eth0.hwaddr"] {
			t.Errorf("volatile.eth0.hwaddr lost or changed: %q → %q", got.Config["volatile.eth0.hwaddr"], after.Config["volatile.eth0.hwaddr"])
		}
		if err := r.UpdateInstance(ctx, got); !errors.Is(err, engine.ErrPreconditionFailed) {
			t.Errorf("update with stale etag: %v, want ErrPreconditionFailed", err)
		}

		if err := r.SetInstanceState(ctx, name, "stop", true); err != nil {
			t.Fatal(err)
		}
		if got, _ := findInstance(t, r, name); got.Status != "Stopped" {
			t.Errorf("status %q after stop", got.Status)
		}
		// A failing operation reports LXD's reason.
		if err := r.SetInstanceState(ctx, name, "stop", false); err == nil || !strings.Contains(err.Error(), "already stopped") {
			t.Errorf("stopping a stopped instance: %v", err)
		}
		// Writes wait by long-polling, without event websockets.
		if n := openConns(r); n != 0 {
			t.Errorf("%d connections left open after the writes", n)
		}
		if err := r.SetInstanceState(ctx, name, "start", false); err != nil {
			t.Fatal(err)
		}
		// Delete force-stops a running instance.
		if err := r.DeleteInstance(ctx, name); err != nil {
			t.Fatal(err)
		}
		if _, ok := findInstance(t, r, name); ok {
			t.Error("instance listed after delete")
		}
		if err := r.DeleteInstance(ctx, name); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("second delete: %v, want ErrNotFound", err)
		}
		if err := r.SetInstanceState(ctx, name, "start", false); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("start of a missing instance: %v, want ErrNotFound", err)
		}
	})
}

func TestCreateInstanceImageSources(t *testing.T) {
	p := sandbox.Primary(t)
	s := sandbox.Secondary(t)
	r := connect(t, p)
	ctx := testCtx(t)

	// By fingerprint (prefix) on the same server.
	fp := strings.TrimSpace(p.Lxc(t, "image", "list", "busybox", "--format", "csv", "-c", "f"))
	if fp == "" {
		t.Fatal("no busybox image on primary")
	}
	byFP := sandbox.UniqueName(t, "lxa")
	t.Cleanup(func() { deleteInstanceByHand(p, byFP) })
	if err := r.CreateInstance(ctx, engine.Instance{Name: byFP, Image: fp[:12], Profiles: []string{"default"}}); err != nil {
		t.Fatalf("create from fingerprint %s: %v", fp[:12], err)
	}

	// Unknown image: a clear error.
	err := r.CreateInstance(ctx, engine.Instance{Name: sandbox.UniqueName(t, "lxa"), Image: "no-such-image"})
	if err == nil {
		t.Error("create from a missing image succeeded")
	}
	t.Logf("missing image: %v", err)

	// "server:alias" through an lxc client config naming the secondary.
	conf := lxcConfFor(t, "sec", s)
	t.Setenv("LXD_CONF", conf)
	fromRemote := sandbox.UniqueName(t, "lxa")
	t.Cleanup(func() { deleteInstanceByHand(p, fromRemote) })
	if err := r.CreateInstance(ctx, engine.Instance{Name: fromRemote, Image: "sec:busybox", Profiles: []string{"default"}}); err != nil {
		t.Fatalf("create from sec:busybox: %v", err)
	}
	if _, ok := findInstance(t, r, fromRemote); !ok {
		t.Error("instance from a remote image not listed")
	}
}

// lxcConfFor writes an lxc client config directory with one https remote
// pointing at d (client certificate and accepted server certificate included).
func lxcConfFor(t *testing.T, name string, d *sandbox.Daemon) string {
	t.Helper()
	dir := t.TempDir()
	copyFile(t, d.ClientCert, filepath.Join(dir, "client.crt"))
	copyFile(t, d.ClientKey, filepath.Join(dir, "client.key"))
	copyFile(t, filepath.Join(d.Dir, "server.crt"), filepath.Join(dir, "servercerts", name+".crt"))
	cfg := "default-remote: local\nremotes:\n  " + name + ":\n    addr: " + d.HTTPSAddress +
		"\n    auth_type: tls\n    project: default\n    protocol: lxd\n    public: false\n"
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestConnectLXCRemote(t *testing.T) {
	s := sandbox.Secondary(t)
	t.Setenv("LXD_CONF", lxcConfFor(t, "sec", s))
	r, err := Connect(testCtx(t), &spec.Remote{Name: "viaLXC", LXCRemote: "sec"})
	if err != nil {
		t.Fatalf("Connect via lxc remote: %v", err)
	}
	defer r.Close()
	if r.Address() != s.HTTPSAddress {
		t.Errorf("address %q, want %q", r.Address(), s.HTTPSAddress)
	}
	if _, err := r.ListNetworks(testCtx(t)); err != nil {
		t.Error(err)
	}
	// The server certificate lxc saved is the pin: a different one is refused.
	writeCert(t, filepath.Join(os.Getenv("LXD_CONF"), "servercerts", "sec.crt"))
	_, err = Connect(testCtx(t), &spec.Remote{Name: "viaLXC", LXCRemote: "sec"})
	var pe *PinError
	if !errors.As(err, &pe) || pe.Actual != s.ServerFingerprint {
		t.Errorf("replaced servercert: %v, want a PinError", err)
	}
}

func TestForwardRoundTrip(t *testing.T) {
	bothDaemons(t, func(t *testing.T, d *sandbox.Daemon, r *Remote) {
		ctx := testCtx(t)
		bridge := sandbox.UniqueName(t, "lxa")
		cidr := d.CreateBridge(t, bridge)
		listen := sandbox.FloatingIP(t)
		t.Cleanup(func() { _, _ = d.LxcErr("network", "forward", "delete", bridge, listen) })

		want := engine.Forward{
			Network: bridge, ListenAddress: listen, Description: "adapter test",
			Config: map[string]string{"user.lxnetd.owner": "test"},
			Ports: []engine.ForwardPort{
				{Protocol: "tcp", ListenPort: "80", TargetAddress: sandbox.HostIP(cidr, 20), TargetPort: "8080"},
				{Protocol: "tcp", ListenPort: "443,8443", TargetAddress: sandbox.HostIP(cidr, 20)},
				{Protocol: "udp", ListenPort: "5000-5010", TargetAddress: sandbox.HostIP(cidr, 21), Description: "range"},
			},
		}
		if err := r.CreateForward(ctx, want); err != nil {
			t.Fatal(err)
		}
		fwds, err := r.ListForwards(ctx, bridge)
		if err != nil {
			t.Fatal(err)
		}
		// Ports are a set to LXD: compared in any order.
		anyOrder := cmpopts.SortSlices(func(a, b engine.ForwardPort) bool { return a.Protocol+a.ListenPort < b.Protocol+b.ListenPort })
		if diff := cmp.Diff([]engine.Forward{want}, fwds, anyOrder); diff != "" {
			t.Errorf("listed forwards (-want +got):\n%s", diff)
		}

		upd := want
		upd.Ports = want.Ports[:1]
		upd.Config = map[string]string{"user.lxnetd.owner": "test", "target_address": sandbox.HostIP(cidr, 22)}
		if err := r.UpdateForward(ctx, upd); err != nil {
			t.Fatal(err)
		}
		fwds, _ = r.ListForwards(ctx, bridge)
		if diff := cmp.Diff([]engine.Forward{upd}, fwds, anyOrder); diff != "" {
			t.Errorf("after update (-want +got):\n%s", diff)
		}
		if err := r.CreateForward(ctx, want); err == nil {
			t.Error("creating a duplicate forward succeeded")
		}
		if err := r.DeleteForward(ctx, bridge, listen, ""); err != nil {
			t.Fatal(err)
		}
		if fwds, _ := r.ListForwards(ctx, bridge); len(fwds) != 0 {
			t.Errorf("forwards after delete: %v", fwds)
		}
		if err := r.DeleteForward(ctx, bridge, listen, ""); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("second delete: %v, want ErrNotFound", err)
		}
		if err := r.UpdateForward(ctx, upd); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("update of a missing forward: %v, want ErrNotFound", err)
		}
		if _, err := r.ListForwards(ctx, bridge+"x"); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("forwards of a missing network: %v, want ErrNotFound", err)
		}
	})
}

// eventRecorder collects event sources with their arrival times and lets a
// test wait for one.
type eventRecorder struct {
	mu      sync.Mutex
	sources []string
	times   []time.Time
	seen    chan struct{}
}

func newRecorder() *eventRecorder { return &eventRecorder{seen: make(chan struct{}, 1000)} }

func (e *eventRecorder) add(source string) {
	e.mu.Lock()
	e.sources = append(e.sources, source)
	e.times = append(e.times, time.Now())
	e.mu.Unlock()
	select {
	case e.seen <- struct{}{}:
	default:
	}
}

// waitFor waits until an event with source arrived after since and returns
// how long after since it arrived.
func (e *eventRecorder) waitFor(t *testing.T, source string, since time.Time, within time.Duration) time.Duration {
	t.Helper()
	timeout := time.After(within)
	for {
		e.mu.Lock()
		for i, s := range e.sources {
			if s == source && !e.times[i].Before(since) {
				e.mu.Unlock()
				return e.times[i].Sub(since)
			}
		}
		e.mu.Unlock()
		select {
		case <-e.seen:
		case <-timeout:
			e.mu.Lock()
			defer e.mu.Unlock()
			t.Fatalf("no lifecycle event with source %q within %v; got %q", source, within, e.sources)
		}
	}
}

func TestWatchLifecycle(t *testing.T) {
	bothDaemons(t, func(t *testing.T, d *sandbox.Daemon, r *Remote) {
		bridge := sandbox.UniqueName(t, "lxa")
		cidr := d.CreateBridge(t, bridge)
		listen := sandbox.FloatingIP(t)
		t.Cleanup(func() { _, _ = d.LxcErr("network", "forward", "delete", bridge, listen) })

		probe, cancel, done := startWatch(t, d, r)
		rec := probe.rec

		// The deadlines are generous (a loaded machine); the log shows the
		// latency, which is milliseconds.
		source := "/1.0/networks/" + bridge + "/forwards/" + listen
		start := time.Now()
		d.Lxc(t, "network", "forward", "create", bridge, listen)
		lxcTook := time.Since(start)
		took := rec.waitFor(t, source, start, 30*time.Second)
		t.Logf("forward create event %v after the lxc command started (lxc took %v)", took, lxcTook)

		// Our own writes are reported too.
		start = time.Now()
		if err := r.UpdateForward(testCtx(t), engine.Forward{Network: bridge, ListenAddress: listen,
			Ports: []engine.ForwardPort{{Protocol: "tcp", ListenPort: "80", TargetAddress: sandbox.HostIP(cidr, 20)}}}); err != nil {
			t.Fatal(err)
		}
		t.Logf("own forward update event after %v", rec.waitFor(t, source, start, 30*time.Second))

		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("WatchLifecycle after cancel: %v, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("WatchLifecycle did not return after cancel")
		}
	})
}

// TestWatchLifecycleStreamBreaks cuts the event websocket under a running
// watch (the client's view of a daemon that went away): WatchLifecycle must
// return an error promptly, and a fresh Connect must watch again.
func TestWatchLifecycleStreamBreaks(t *testing.T) {
	bothDaemons(t, func(t *testing.T, d *sandbox.Daemon, r *Remote) {
		_, _, done := startWatch(t, d, r)
		if n := breakWatches(r); n == 0 {
			t.Fatal("no open watch connection to break")
		}
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("WatchLifecycle returned nil after its stream broke")
			}
			t.Logf("broken stream: %v", err)
		case <-time.After(5 * time.Second):
			t.Fatal("WatchLifecycle did not notice the broken stream")
		}

		// Close also ends a watch with an error.
		r2 := connect(t, d)
		_, _, done = startWatch(t, d, r2)
		r2.Close()
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("WatchLifecycle returned nil after Close")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("WatchLifecycle did not return after Close")
		}
	})
}

// breakWatches breaks the connections of r's running watches.
func breakWatches(r *Remote) int {
	n := 0
	for _, tr := range r.watches.list() {
		n += tr.breakConns()
	}
	return n
}

// TestWatchLifecycleClosesItsConnection: once WatchLifecycle has returned
// after its ctx ended, its event websocket is closed and the client's
// goroutines are gone, not left for the pinned client's once-a-minute sweep.
// Checked from the process's view, on exactly the watch's own socket (by
// inode) and goroutines (by stack): process-wide counts moved with sockets
// other tests' connections closed meanwhile.
func TestWatchLifecycleClosesItsConnection(t *testing.T) {
	bothDaemons(t, func(t *testing.T, d *sandbox.Daemon, r *Remote) {
		goroutines0 := watchGoroutines()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- r.WatchLifecycle(ctx, func(string) {}) }()
		var inodes []string
		deadline := time.Now().Add(30 * time.Second)
		for inodes = watchSockets(t, r); len(inodes) == 0; inodes = watchSockets(t, r) {
			if time.Now().After(deadline) {
				t.Fatal("the watch opened no socket within 30s")
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("WatchLifecycle after cancel: %v", err)
		}

		// Goroutines end just after the close; allow them a moment (the
		// client's own sweep would take up to a minute).
		deadline = time.Now().Add(20 * time.Second)
		for {
			open, g := stillOpen(t, inodes), watchGoroutines()
			if len(open) == 0 && g <= goroutines0 {
				break
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Fatalf("after WatchLifecycle returned: sockets %v still open, %d event goroutines (%d before)\n%s",
					open, g, goroutines0, buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// watchSockets returns the inodes ("socket:[N]") of the open connections of
// r's running watches.
func watchSockets(t *testing.T, r *Remote) []string {
	t.Helper()
	var out []string
	for _, tr := range r.watches.list() {
		for _, c := range tr.conns.list() {
			sc, ok := c.Conn.(syscall.Conn)
			if !ok {
				continue
			}
			raw, err := sc.SyscallConn()
			if err != nil {
				continue
			}
			_ = raw.Control(func(fd uintptr) {
				if l, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd)); err == nil {
					out = append(out, l)
				}
			})
		}
	}
	return out
}

// stillOpen returns which of the socket inodes a file descriptor of the
// process still refers to.
func stillOpen(t *testing.T, inodes []string) []string {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var open []string
	for _, fd := range fds {
		if l, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && slices.Contains(inodes, l) {
			open = append(open, l)
		}
	}
	return open
}

// watchGoroutines counts the goroutines of event watches: the LXD client's
// websocket reader and sweeper, and WatchLifecycle itself.
func watchGoroutines() int {
	buf := make([]byte, 1<<22)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "(*ProtocolLXD).getEvents") || strings.Contains(g, "(*Remote).WatchLifecycle") {
			n++
		}
	}
	return n
}

// openConns counts the connections of r's transport that are still open.
func openConns(r *Remote) int {
	return len(r.tr.conns.list())
}

// breakConns closes the currently open tracked connections but keeps the
// transport usable, to break an event stream on purpose.
func (tr *transport) breakConns() int {
	conns := tr.conns.list()
	for _, c := range conns {
		_ = c.Close()
	}
	return len(conns)
}

// TestListRequestsAreBulk proves that reads cost a constant number of
// requests: one per list, whatever the number of instances. (ListNetworks
// costs one per managed network, which other tests change on the shared
// daemon: engine's TestLXDNoOpPlanRequestsAreBulk counts it on a private one.)
func TestListRequestsAreBulk(t *testing.T) {
	d := sandbox.Primary(t)
	r := connect(t, d)
	ctx := testCtx(t)
	bridge := sandbox.UniqueName(t, "lxa")
	cidr := d.CreateBridge(t, bridge)

	count := func(f func() error) int64 {
		t.Helper()
		before, start := r.Requests(), time.Now()
		if err := f(); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d requests in %v", r.Requests()-before, time.Since(start))
		return r.Requests() - before
	}
	listAll := func() error {
		if _, err := r.ListProfiles(ctx); err != nil {
			return err
		}
		if _, err := r.ListInstances(ctx); err != nil {
			return err
		}
		_, err := r.ListForwards(ctx, bridge)
		return err
	}
	base := count(listAll)
	if base != 3 {
		t.Errorf("three lists cost %d requests, want 3", base)
	}

	const n = 6
	for k := range n {
		name := sandbox.UniqueName(t, "lxa")
		t.Cleanup(func() { deleteInstanceByHand(d, name) })
		i := engine.Instance{Name: name, Image: "busybox", Profiles: []string{"default"},
			Devices: map[string]map[string]string{"eth0": {"type": "nic", "network": bridge}}}
		if err := r.CreateInstance(ctx, i); err != nil {
			t.Fatal(err)
		}
		if k%2 == 0 {
			if err := r.SetInstanceState(ctx, name, "start", false); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.CreateForward(ctx, engine.Forward{Network: bridge, ListenAddress: sandbox.FloatingIP(t),
			Ports: []engine.ForwardPort{{Protocol: "tcp", ListenPort: "80", TargetAddress: sandbox.HostIP(cidr, 10+k)}}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := count(listAll); got != base {
		t.Errorf("with %d more instances and forwards the lists cost %d requests, want %d", n, got, base)
	}
	if got := count(func() error { _, err := r.ListInstances(ctx); return err }); got != 1 {
		t.Errorf("ListInstances cost %d requests, want 1", got)
	}
}

// TestProject: every call is scoped to the remote's project.
func TestProject(t *testing.T) {
	d := sandbox.Primary(t)
	ctx := testCtx(t)
	project := sandbox.UniqueName(t, "lxa")
	d.Lxc(t, "project", "create", project, "-c", "features.profiles=true", "-c", "features.images=false")
	t.Cleanup(func() { _, _ = d.LxcErr("project", "delete", project) })

	sr := d.Remote()
	sr.Project = project
	r, err := Connect(ctx, &sr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	if r.Requests() != 2 {
		t.Errorf("Connect to a project cost %d requests, want 2", r.Requests())
	}
	name := sandbox.UniqueName(t, "lxa")
	t.Cleanup(func() { _, _ = d.LxcErr("profile", "delete", name, "--project", project) })
	if err := r.CreateProfile(ctx, engine.Profile{Name: name, Config: map[string]string{"user.x": "1"}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := findProfile(t, r, name); !ok {
		t.Error("profile not listed in its project")
	}
	if _, ok := findProfile(t, connect(t, d), name); ok {
		t.Error("profile of another project listed in default")
	}
	if out := d.Lxc(t, "profile", "get", name, "user.x", "--project", project); strings.TrimSpace(out) != "1" {
		t.Errorf("profile not in project %s: user.x=%q", project, out)
	}
	if err := r.DeleteProfile(ctx, name); err != nil {
		t.Fatal(err)
	}

	// The project's watch sees its own objects and the default project's
	// networks it uses (features.networks is off), not other projects'.
	probe, cancel, done := startWatch(t, d, r)
	rec := probe.rec
	start := time.Now()
	if err := r.CreateProfile(ctx, engine.Profile{Name: name}); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "/1.0/profiles/"+name+"?project="+project, start, 30*time.Second)
	bridge := sandbox.UniqueName(t, "lxa")
	start = time.Now()
	d.CreateBridge(t, bridge)
	rec.waitFor(t, "/1.0/networks/"+bridge, start, 30*time.Second)
	d.Lxc(t, "profile", "create", name) // same name, default project
	t.Cleanup(func() { _, _ = d.LxcErr("profile", "delete", name) })
	// Once an event emitted after it has come through, the default
	// project's profile event would have too, had the watch let it pass.
	probe.sync(t)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("WatchLifecycle: %v", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, s := range rec.sources {
		if s == "/1.0/profiles/"+name {
			t.Errorf("project watch reported the default project's profile: %q", rec.sources)
		}
	}
}

// TestTargetOnStandalone: a placement target on a server that is not a
// cluster is refused by LXD, and "none" (the location a standalone server
// reports) is treated as no target.
func TestTargetOnStandalone(t *testing.T) {
	d := sandbox.Primary(t)
	r := connect(t, d)
	ctx := testCtx(t)
	name := sandbox.UniqueName(t, "lxa")
	t.Cleanup(func() { deleteInstanceByHand(d, name) })
	err := r.CreateInstance(ctx, engine.Instance{Name: name, Image: "busybox", Location: "member1"})
	if err == nil {
		t.Error("create with a cluster target on a standalone server succeeded")
	}
	t.Logf("target on standalone: %v", err)
	if err := r.CreateInstance(ctx, engine.Instance{Name: name, Image: "busybox", Location: "none"}); err != nil {
		t.Fatal(err)
	}
	// LXD's "none" is listed as no location.
	if i, _ := findInstance(t, r, name); i.Location != "" {
		t.Errorf("location %q, want none", i.Location)
	}
}

// TestConcurrentCalls: one Remote serves parallel calls (run with -race).
func TestConcurrentCalls(t *testing.T) {
	bothDaemons(t, func(t *testing.T, d *sandbox.Daemon, r *Remote) {
		ctx := testCtx(t)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 4 {
			name := sandbox.UniqueName(t, "lxa")
			t.Cleanup(func() { _, _ = d.LxcErr("profile", "delete", name) })
			wg.Go(func() {
				if err := r.CreateProfile(ctx, engine.Profile{Name: name}); err != nil {
					errs <- err
					return
				}
				if _, err := r.ListProfiles(ctx); err != nil {
					errs <- err
				}
				if err := r.DeleteProfile(ctx, name); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

// tcpProxy relays 127.0.0.1:<port> to target, so a test can make a real
// server vanish (from the client's point of view) without stopping a shared
// sandbox daemon.
type tcpProxy struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			go func() { _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
	t.Cleanup(p.stop)
	return p
}

func (p *tcpProxy) addr() string { return p.l.Addr().String() }

// stop closes the listener and every relayed connection.
func (p *tcpProxy) stop() {
	p.l.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestWatchLifecycleServerGone: the secondary, reached through a relay,
// disappears: the watch returns an error, Connect then fails fast, and
// once the server is reachable again a new Connect watches again.
func TestWatchLifecycleServerGone(t *testing.T) {
	d := sandbox.Secondary(t)
	target := strings.TrimPrefix(d.HTTPSAddress, "https://")
	proxy := startProxy(t, target)
	sr := d.Remote()
	sr.Address = "https://" + proxy.addr()
	r, err := Connect(testCtx(t), &sr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)

	_, _, done := startWatch(t, d, r)
	start := time.Now()
	proxy.stop()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("WatchLifecycle returned nil when the server went away")
		}
		t.Logf("server gone after %v: %v", time.Since(start), err)
	case <-time.After(5 * time.Second):
		t.Fatal("WatchLifecycle did not notice that the server went away")
	}
	if _, err := Connect(testCtx(t), &sr); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Connect to the vanished server: %v", err)
	}

	// The server is back (on a new relay): reconnect and watch again.
	proxy2 := startProxy(t, target)
	sr.Address = "https://" + proxy2.addr()
	r2, err := Connect(testCtx(t), &sr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r2.Close)
	bridge := sandbox.UniqueName(t, "lxa")
	probe, cancel, _ := startWatch(t, d, r2)
	defer cancel()
	start = time.Now()
	d.CreateBridge(t, bridge)
	probe.rec.waitFor(t, "/1.0/networks/"+bridge, start, 30*time.Second)
}

// TestConnectUntrustedClient: a pinned server that does not trust the
// client certificate is refused with the command that would fix it.
func TestConnectUntrustedClient(t *testing.T) {
	d := sandbox.Secondary(t)
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "stranger"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	sr := d.Remote()
	sr.ClientCert, sr.ClientKey = filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	if err := os.WriteFile(sr.ClientCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sr.ClientKey, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Connect(testCtx(t), &sr)
	if err == nil || !strings.Contains(err.Error(), "does not trust client certificate") {
		t.Fatalf("untrusted client: %v", err)
	}
	t.Logf("untrusted client: %v", err)
}

// TestConnectLXCRemoteUnix: an lxc remote on a unix socket, with the
// project lxc has for it.
func TestConnectLXCRemoteUnix(t *testing.T) {
	d := sandbox.Primary(t)
	project := sandbox.UniqueName(t, "lxa")
	d.Lxc(t, "project", "create", project)
	t.Cleanup(func() { _, _ = d.LxcErr("project", "delete", project) })
	dir := t.TempDir()
	cfg := "default-remote: here\nremotes:\n  here:\n    addr: unix://" + d.Socket + "\n    project: " + project + "\n    public: false\n"
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LXD_CONF", dir)
	r, err := Connect(testCtx(t), &spec.Remote{Name: "here", LXCRemote: "here"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Address() != "unix://"+d.Socket || r.Project() != project {
		t.Errorf("address %q project %q, want unix://%s and %s", r.Address(), r.Project(), d.Socket, project)
	}
	if _, err := r.ListProfiles(testCtx(t)); err != nil {
		t.Error(err)
	}
}
