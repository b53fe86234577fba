package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/internal/incusrace"
)

// lxcTimeout bounds one lxc invocation, so a wedged daemon fails a test
// instead of hanging the whole run.
const lxcTimeout = 2 * time.Minute

// Lxc runs `lxc ARGS...` (`incus ARGS...` on the Incus daemon) against this daemon (its private LXD_CONF, whose
// default remote is the daemon) and returns stdout. It fails the test with
// the command's output when lxc exits non-zero.
func (d *Daemon) Lxc(t testing.TB, args ...string) string {
	t.Helper()
	out, err := d.LxcErr(args...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return out
}

// LxcErr is Lxc without a test: it returns stdout, and an error carrying
// the command line and stderr when lxc fails.
func (d *Daemon) LxcErr(args ...string) (string, error) {
	return d.lxc(nil, args...)
}

// LxcInput is Lxc with stdin, for commands that read YAML from it
// (`lxc launch busybox x < instance.yaml`, `lxc network edit`, ...).
func (d *Daemon) LxcInput(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	out, err := d.lxc(strings.NewReader(stdin), args...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return out
}

// lxcLinkRaceBudget is how long lxc sends a command again that Incus
// refused because a host interface vanished while it inspected every
// interface (package incusrace): 60 s, not internal/lxd's 20 s, as the
// tests churn host interfaces far more than a host does (20 s of tries
// failed in a row in CI).
const lxcLinkRaceBudget = 60 * time.Second

func (d *Daemon) lxc(stdin io.Reader, args ...string) (string, error) {
	if d.Kind != KindIncus {
		return d.lxcOnce(stdin, args...)
	}
	var in []byte
	if stdin != nil {
		var err error
		if in, err = io.ReadAll(stdin); err != nil {
			return "", err
		}
	}
	var out string
	err := incusrace.Retry(context.Background(), lxcLinkRaceBudget, func() error {
		var err error
		out, err = d.lxcOnce(bytes.NewReader(in), args...)
		return err
	})
	return out, err
}

func (d *Daemon) lxcOnce(stdin io.Reader, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), lxcTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.client(), args...)
	cmd.Env = d.lxcEnv()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s (on sandbox %s): %w: %s",
			d.client(), strings.Join(args, " "), d.Name, err, strings.TrimSpace(stderr.String()+"\n"+stdout.String()))
	}
	return stdout.String(), nil
}

// client is the command-line client of the daemon's kind: lxc or incus.
// Their commands and output formats are the same for what tests use.
func (d *Daemon) client() string {
	if d.Kind == KindIncus {
		return "incus"
	}
	return "lxc"
}

// lxcEnv is the process environment with LXD_CONF (INCUS_CONF) pointing at
// the daemon's private client config, and without LXD_DIR/LXD_SOCKET
// (INCUS_DIR/INCUS_SOCKET), which would redirect the "local" remote elsewhere.
func (d *Daemon) lxcEnv() []string {
	prefix := "LXD_"
	if d.Kind == KindIncus {
		prefix = "INCUS_"
	}
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, prefix+"CONF=") || strings.HasPrefix(kv, prefix+"DIR=") || strings.HasPrefix(kv, prefix+"SOCKET=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, prefix+"CONF="+d.LXDConf)
}
