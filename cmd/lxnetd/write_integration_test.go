//go:build integration

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// gateConfig is a bridge and n profiles on the primary sandbox daemon.
func gateConfig(d *sandbox.Daemon, owner, bridge, subnet string, profiles []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "lxnet {\n  owner = %q\n}\n\nremote \"sb\" {\n  address = \"unix://%s\"\n}\n\n", owner, d.Socket)
	fmt.Fprintf(&b, "network \"lan\" {\n  name   = %q\n  config = { \"ipv4.address\" = %q, \"ipv6.address\" = \"none\" }\n}\n\n",
		bridge, sandbox.HostIP(subnet, 1)+"/24")
	if len(profiles) > 0 {
		fmt.Fprintf(&b, "profile \"p\" {\n  for_each = toset([%s])\n  name     = each.key\n  config   = { \"user.role\" = \"gate\" }\n}\n",
			`"`+strings.Join(profiles, `", "`)+`"`)
	}
	return b.String()
}

// TestApplyDeleteGate: apply obeys max_deletes and allow_empty like the
// daemon, refusing before any write, and the one-run flags let it through.
func TestApplyDeleteGate(t *testing.T) {
	t.Parallel()
	d := sandbox.Primary(t)
	bridge, prefix := sandbox.UniqueName(t, "lxg"), sandbox.UniqueName(t, "gate")
	owner, subnet := "t-"+prefix, sandbox.AllocSubnet(t)
	var profiles []string
	for i := range 12 {
		profiles = append(profiles, fmt.Sprintf("%s-%02d", prefix, i))
	}
	dir := t.TempDir()
	writeTestFile(t, dir, "main.hcl", gateConfig(d, owner, bridge, subnet, profiles))
	t.Cleanup(func() { _, _, _ = run(t, "destroy", "--yes", "--max-deletes", "100", dir) })
	mine := func() int {
		n := 0
		for _, line := range strings.Split(d.Lxc(t, "profile", "list", "--format", "csv"), "\n") {
			if strings.HasPrefix(line, prefix+"-") {
				n++
			}
		}
		return n
	}
	if out, errs, code := run(t, "apply", "--yes", dir); code != 0 || mine() != 12 {
		t.Fatalf("first apply: exit %d, %d profiles\n%s%s", code, mine(), out, errs)
	}

	// Dropping the 12 profiles: 12 deletes > max_deletes = 10.
	writeTestFile(t, dir, "main.hcl", gateConfig(d, owner, bridge, subnet, nil))
	out, errs, code := run(t, "apply", "--yes", dir)
	if code != 1 || !strings.Contains(errs, "more than max_deletes = 10 in the lxnet block") || !strings.Contains(errs, "--max-deletes 12") {
		t.Fatalf("apply of 12 deletes: exit %d, want 1 naming max_deletes\n%s%s", code, out, errs)
	}
	if n := mine(); n != 12 {
		t.Fatalf("refused apply deleted %d profiles", 12-n)
	}
	if out, errs, code := run(t, "apply", "--yes", "--max-deletes", "12", dir); code != 0 || mine() != 0 {
		t.Fatalf("apply --max-deletes 12: exit %d, %d profiles left\n%s%s", code, mine(), out, errs)
	}

	// A directory emptied by mistake (only the lxnet and remote blocks).
	writeTestFile(t, dir, "main.hcl", fmt.Sprintf("lxnet {\n  owner = %q\n}\nremote \"sb\" {\n  address = \"unix://%s\"\n}\n", owner, d.Socket))
	out, errs, code = run(t, "apply", "--yes", dir)
	if code != 1 || !strings.Contains(errs, "declares nothing for this remote") || !strings.Contains(errs, "allow_empty") {
		t.Fatalf("apply of an emptied directory: exit %d, want 1 naming allow_empty\n%s%s", code, out, errs)
	}
	if _, err := d.LxcErr("network", "show", bridge); err != nil {
		t.Fatalf("refused apply deleted the network: %v", err)
	}
	if out, errs, code := run(t, "apply", "--yes", "--allow-empty", dir); code != 0 {
		t.Fatalf("apply --allow-empty: exit %d\n%s%s", code, out, errs)
	}
	if _, err := d.LxcErr("network", "show", bridge); err == nil {
		t.Fatal("apply --allow-empty left the network")
	}
}

// The integration tests of this package run in parallel (t.Parallel; at
// most -parallel = GOMAXPROCS at once), as each has its own owner, names,
// subnet and floating IPs and most of their time is waiting on LXD. Those
// that set the process environment the in-process CLI reads (t.Setenv:
// TestExportAdoptsHandBuiltObjects on Incus, TestSilentRemoteIsolated) stay
// serial, and Go runs them before the parallel ones start.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// lxnetdBinary builds the command once per test run (signals need a real process).
func lxnetdBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lxnetd-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "lxnetd")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building lxnetd: %v", buildErr)
	}
	return binPath
}

// TestApplyInterrupt: the first SIGINT lets the write in flight finish,
// starts nothing new, reports what was done and not done, and exits
// non-zero; the next apply completes the plan.
func TestApplyInterrupt(t *testing.T) {
	t.Parallel()
	d := sandbox.Primary(t)
	bridge, prefix := sandbox.UniqueName(t, "lxi"), sandbox.UniqueName(t, "intr")
	owner, subnet := "t-"+prefix, sandbox.AllocSubnet(t)
	var profiles []string
	for i := range 8 {
		profiles = append(profiles, fmt.Sprintf("%s-%02d", prefix, i))
	}
	dir := t.TempDir()
	writeTestFile(t, dir, "main.hcl", gateConfig(d, owner, bridge, subnet, profiles))
	t.Cleanup(func() { _, _, _ = run(t, "destroy", "--yes", "--max-deletes", "100", dir) })

	cmd := exec.Command(lxnetdBinary(t), "apply", "--yes", "--parallelism", "1", dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	signalled := false
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		// The network is created first; interrupt as soon as it is.
		if !signalled && strings.Contains(line, "network."+bridge+" created") {
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			signalled = true
		}
	}
	err = cmd.Wait()
	t.Logf("interrupted apply:\n%s%s", out.String(), errb.String())
	if !signalled {
		t.Fatalf("never saw the network created: %v", err)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("interrupted apply: %v, want exit status 1", err)
	}
	if !strings.Contains(errb.String(), "Interrupt received") || !strings.Contains(out.String(), "interrupted before it started") {
		t.Fatal("the interrupted apply did not say what was not done")
	}
	// Only the network (and at most the one change in flight) was written.
	n := 0
	for _, p := range profiles {
		if _, err := d.LxcErr("profile", "show", p); err == nil {
			n++
		}
	}
	if n > 1 {
		t.Errorf("%d profiles were created after the interrupt, want at most the one in flight", n)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		o, e, code := run(t, "apply", "--yes", dir)
		if code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("apply after the interrupt: exit %d\n%s%s", code, o, e)
		}
	}
	if o, e, code := run(t, "plan", "--detailed-exitcode", dir); code != 0 {
		t.Fatalf("plan after completing: exit %d\n%s%s", code, o, e)
	}
}
