package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
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

// incusLinkRace is the error Incus 6.0 gives a network create or delete
// when a host interface vanished while it inspected every interface (other
// tests' containers and bridges come and go): the request changed nothing
// and is sent again. internal/lxd does the same for lxnetd's own writes.
var incusLinkRace = regexp.MustCompile(`Failed to run: ip -d -j link show \S+: exit status 1 \(Device "\S+" does not exist\.\)`)

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
	// As internal/lxd's retryIncusLinkRace, 100 ms apart doubling to 1 s,
	// but for up to 60 s: the tests churn host interfaces far more than a
	// host does (20 s of tries failed in a row in CI).
	delay, deadline := 100*time.Millisecond, time.Now().Add(60*time.Second)
	for {
		out, err := d.lxcOnce(bytes.NewReader(in), args...)
		if err == nil || time.Now().After(deadline) || !incusLinkRace.MatchString(err.Error()) {
			return out, err
		}
		time.Sleep(delay)
		delay = min(2*delay, time.Second)
	}
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
