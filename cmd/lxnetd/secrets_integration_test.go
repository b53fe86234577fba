//go:build integration

package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/internal/daemon"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// secretConfig puts var.secret into every place a value reaches LXD from:
// a network's description and config value, a profile's description, config
// value and device property, a forward port's description — and into a
// profile key LXD refuses, echoing the value in its error ("Invalid value:
// <value>").
func secretConfig(d *sandbox.Daemon, owner, bridge, prefix, subnet, fip string) string {
	return fmt.Sprintf(`lxnet {
  owner = %q
}

remote "sb" {
  address = "unix://%s"
}

variable "secret" {
  type      = string
  sensitive = true
}

network "lan" {
  name        = %q
  description = "net ${var.secret}"
  config      = { "ipv4.address" = %q, "ipv6.address" = "none", "user.token" = var.secret }
}

profile "p" {
  name        = "%s-p"
  description = "profile ${var.secret}"
  config      = { "user.token" = "cfg-${var.secret}" }
  device "data" {
    type       = "disk"
    properties = { path = "/mnt/data", source = "/srv/${var.secret}" }
  }
}

profile "refused" {
  name   = "%s-r"
  config = { "limits.memory" = var.secret }
}

forward "fip" {
  network        = network.lan
  listen_address = %q
  port {
    listen_port    = 80
    target_address = %q
    description    = "port ${var.secret}"
  }
}
`, owner, d.Socket, bridge, sandbox.HostIP(subnet, 1)+"/24", prefix, prefix, fip, sandbox.HostIP(subnet, 10))
}

// TestSensitiveNeverShown: a value of a variable declared sensitive, used in
// a description, a config value, a device property, a port description and
// a value LXD refuses (whose error echoes it), appears in none of plan,
// plan --json, plan --out, apply FILE, apply (with LXD's error), a plan of
// a changed secret, the daemon's log records, status, status --json and
// destroy — while LXD itself holds the real values.
func TestSensitiveNeverShown(t *testing.T) {
	t.Parallel()
	const secret, rotated = "Zq7SECRETx91", "Rr4ROTATEDq2"
	d := sandbox.Primary(t)
	bridge, prefix := sandbox.UniqueName(t, "lxs"), sandbox.UniqueName(t, "sec")
	owner, subnet, fip := "t-"+prefix, sandbox.AllocSubnet(t), sandbox.FloatingIP(t)
	dir := t.TempDir()
	writeTestFile(t, dir, "main.hcl", secretConfig(d, owner, bridge, prefix, subnet, fip))
	writeTestFile(t, dir, "secret.vars.hcl", fmt.Sprintf("secret = %q\n", secret))
	t.Cleanup(func() { _, _, _ = run(t, "destroy", "--yes", dir) })

	shown := func(what, out string, want ...string) {
		t.Helper()
		for _, s := range []string{secret, rotated} {
			if strings.Contains(out, s) {
				t.Errorf("%s shows the sensitive value %q:\n%s", what, s, out)
			}
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s lacks %q:\n%s", what, w, out)
			}
		}
	}

	out, errs, code := run(t, "plan", dir)
	shown("plan", out+errs, "+ description = (sensitive)", "+ config.user.token = (sensitive)",
		"+ devices.data.source = (sensitive)", "+ ports.tcp/80 = (sensitive)", "+ config.limits.memory = (sensitive)")
	if code != 0 {
		t.Fatalf("plan: exit %d", code)
	}
	out, errs, _ = run(t, "plan", "--json", dir)
	shown("plan --json", out+errs, `"sensitive": true`, `"after_sensitive": true`)
	planFile := filepath.Join(t.TempDir(), "tfplan")
	out, errs, _ = run(t, "plan", "--out", planFile, dir)
	shown("plan --out", out+errs, "(sensitive)")

	// apply FILE: everything but the refused profile is made; LXD's error
	// names the value it refuses, and lxnetd shows it scrubbed.
	out, errs, code = run(t, "apply", "--yes", planFile)
	shown("apply FILE", out+errs, "Invalid value: (sensitive)")
	if code != 1 {
		t.Errorf("apply FILE with a refused profile: exit %d, want 1", code)
	}
	// Redaction is only in what lxnetd shows: LXD holds the real values.
	if got := strings.TrimSpace(d.Lxc(t, "network", "get", bridge, "user.token")); got != secret {
		t.Errorf("LXD holds user.token = %q, want the secret", got)
	}
	if got := strings.TrimSpace(d.Lxc(t, "profile", "device", "get", prefix+"-p", "data", "source")); got != "/srv/"+secret {
		t.Errorf("LXD holds source = %q", got)
	}

	out, errs, _ = run(t, "plan", "--var", "secret="+rotated, dir)
	shown("plan of a changed secret", out+errs, "~ config.user.token = (sensitive value changed)",
		"~ description = (sensitive value changed)", "~ devices.data.source = (sensitive value changed)")
	out, errs, code = run(t, "apply", "--yes", dir)
	shown("apply", out+errs, "Invalid value: (sensitive)")
	if code != 1 {
		t.Errorf("apply with a refused profile: exit %d, want 1", code)
	}

	// The daemon fails on the same profile: its log and status show the
	// error scrubbed.
	sock := filepath.Join(t.TempDir(), "control.sock")
	var log syncLog
	cmd := exec.Command(lxnetdBinary(t), "run", "--config-dir", dir, "--socket", sock, "--log-format", "json", "--log-level", "debug")
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(60 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		})
	}
	t.Cleanup(stop) // before the destroy above: cleanups run last first
	deadline := time.Now().Add(90 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		resp, err := daemon.Ask(ctx, sock, daemon.Request{Command: "status"})
		cancel()
		if err == nil && resp.Status != nil && len(resp.Status.Remotes) == 1 && resp.Status.Remotes[0].LastError != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon reported no failure within 90s; log:\n%s", log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	out, errs, _ = run(t, "status", "--json", "--socket", sock)
	shown("status --json", out+errs, `Invalid value: (sensitive)`)
	out, errs, _ = run(t, "status", "--socket", sock)
	shown("status", out+errs, "(sensitive)")
	stop()
	shown("daemon log", log.String(), `"msg":"change failed"`, "Invalid value: (sensitive)")

	out, errs, code = run(t, "destroy", "--yes", dir)
	shown("destroy", out+errs, "- config.user.token = (sensitive)", "- devices.data.source = (sensitive)")
	if code != 0 {
		t.Errorf("destroy: exit %d", code)
	}
}

// syncLog collects a subprocess's output.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncLog) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncLog) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
