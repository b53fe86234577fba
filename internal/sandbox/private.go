package sandbox

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Private starts an LXD daemon for the calling test alone (unix socket, dir
// pool, busybox image, like primary) and removes it, with everything it
// created, in t.Cleanup. It costs a few seconds; use it for tests that load
// or restart a daemon (benchmarks, daemon-restart handling), which would
// disturb the tests of others on the shared primary. Names must still come
// from UniqueName (instance names are host-wide), and subnets and floating
// IPs from AllocSubnet and FloatingIP, which work for every daemon.
//
// Options change how the daemon runs (WithEnv).
func Private(t testing.TB, opts ...PrivateOption) *Daemon {
	t.Helper()
	Primary(t) // leases live in the shared sandbox; fail early and clearly without it
	id := strings.TrimPrefix(uniqueName("p"), "p-")
	dir := filepath.Join(filepath.Dir(Dir()), "lxnetd-sandbox-private-"+id)
	var cfg privateConfig
	for _, o := range opts {
		o(&cfg)
	}
	// sandbox.sh starts lxd with its own environment: the extra variables
	// come last, so they win over os.Environ() (exec keeps the last value).
	env := append([]string{
		"LXNETD_SANDBOX_DIR=" + dir,
		"LXNETD_SANDBOX_DAEMONS=primary",
		"LXNETD_SANDBOX_FLOAT=lxp" + id[:6], // lxpXXXXXX0: 10 characters
	}, append(sharedImageEnv(), cfg.env...)...)
	t.Cleanup(func() {
		if out, err := runScript(env, "down"); err != nil {
			t.Errorf("removing private sandbox %s: %v\n%s", dir, err, out)
		}
	})
	if out, err := runScript(env, "up"); err != nil {
		t.Fatalf("starting a private sandbox daemon in %s: %v\n%s", dir, err, out)
	}
	d, err := connect(dir, "primary")
	if err != nil {
		t.Fatalf("private sandbox in %s: %v", dir, err)
	}
	d.Name = "private"
	d.scriptEnv = env
	return d
}

// PrivateOption changes how Private starts its daemon.
type PrivateOption func(*privateConfig)

type privateConfig struct{ env []string }

// WithEnv adds KEY=VALUE variables to the environment of the Private
// daemon (and of sandbox.sh, which starts it), replacing inherited ones of
// the same name: e.g. a PATH whose first directory holds a wrapper of a
// tool LXD runs (OVS.DaemonEnv).
func WithEnv(kv ...string) PrivateOption {
	return func(c *privateConfig) { c.env = append(c.env, kv...) }
}

// Restart starts a Private daemon again after its test stopped or killed it
// (sandbox.sh up with the environment Private used: same directory, same
// floating-IP link), and fails the test if it does not come back.
func (d *Daemon) Restart(t testing.TB) {
	t.Helper()
	if d.scriptEnv == nil {
		t.Fatalf("sandbox: Restart works only on a daemon from Private, not on %s", d.Name)
	}
	if out, err := runScript(d.scriptEnv, "up"); err != nil {
		t.Fatalf("restarting private sandbox daemon %s: %v\n%s", d.Dir, err, out)
	}
}

// runScript runs sandbox.sh ARG with extra environment variables and
// returns its combined output.
func runScript(extraEnv []string, arg string) (string, error) {
	script, err := scriptPath()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(script, arg)
	cmd.Env = append(os.Environ(), extraEnv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.String(), err
}

// scriptPath finds sandbox.sh beside this source file: tests run from the
// source tree, in whatever package directory.
func scriptPath() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("locating sandbox.sh: no caller information")
	}
	p := filepath.Join(filepath.Dir(file), "sandbox.sh")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("locating sandbox.sh: %w", err)
	}
	return p, nil
}
