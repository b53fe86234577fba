//go:build integration

package daemon_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/internal/daemon"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestRunSurvivesHostileFiles writes the inputs that once killed or
// flooded a running daemon over the file that declares an owned profile on
// the real sandbox LXD: 100 000 nested parentheses (a stack overflow in the
// HCL parser), 10 MB and 1 MiB of random bytes (368 000 diagnostics, a
// 671 MB log record). Each must be rejected with file:line:col while the
// daemon keeps answering, stays within bounded memory and log output, and
// deletes nothing (the last good configuration stays in force); restoring
// the file converges again.
func TestRunSurvivesHostileFiles(t *testing.T) {
	primary := sandbox.Primary(t)
	owner := sandbox.UniqueName(t, "dhost")
	keep := sandbox.UniqueName(t, "dhkeep")
	t.Cleanup(func() { _, _ = primary.LxcErr("profile", "delete", keep) })
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "base.hcl"),
		fmt.Sprintf("lxnet {\n  owner = %q\n  resync_interval = \"1h\"\n  max_deletes = 10\n  allow_empty = true\n}\n\n", owner)+
			remoteHCL("primary", primary.Remote(), ""))
	main := fmt.Sprintf("profile %q {\n  remote = remote.primary\n}\n", keep)
	writeFile(t, filepath.Join(dir, "main.hcl"), main)
	p := startLxnetd(t, dir)
	p.waitConverged(t, 60*time.Second)
	if _, err := primary.LxcErr("profile", "show", keep); err != nil {
		t.Fatalf("profile %s not created: %v", keep, err)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return string(b)
	}
	nested := "locals {\n  x = " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000) + "\n}\n"
	for _, tc := range []struct{ name, content, summary, at string }{
		{"100000 nested parentheses", nested, "Expression nested too deeply", "main.hcl:2:262: error: "},
		{"10 MB of random bytes", random(10 << 20), "Configuration file too large", "main.hcl:1:1: error: "},
		{"1 MiB of random bytes", random(1 << 20), "Configuration file is not UTF-8 text", "main.hcl:1:1: error: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logBefore := len(p.log.String())
			writeFile(t, filepath.Join(dir, "main.hcl"), tc.content)
			start := time.Now()
			st := p.waitFor(t, "the edit rejected", 60*time.Second, func(s *daemon.Status) bool {
				return strings.Contains(s.ConfigError, tc.summary)
			})
			t.Logf("rejected after %v: %s", time.Since(start).Round(time.Millisecond), firstLineOf(st.ConfigError))
			// It still answers promptly.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			resp, err := daemon.Ask(ctx, p.socket, daemon.Request{Command: "reload"})
			cancel()
			if err != nil || resp.OK || !strings.Contains(resp.Diagnostics, tc.at+tc.summary) {
				t.Errorf("reload: err=%v ok=%v, diagnostics %.300q", err, resp.OK, resp.Diagnostics)
			}
			if len(resp.Diagnostics) > 64<<10 {
				t.Errorf("reload returned %d bytes of diagnostics", len(resp.Diagnostics))
			}
			if p.exited() {
				t.Fatalf("lxnetd exited: %v", p.err)
			}
			if _, err := primary.LxcErr("profile", "show", keep); err != nil {
				t.Fatalf("the owned profile %s is gone after a rejected edit: %v", keep, err)
			}
			if n := len(p.log.String()) - logBefore; n > 256<<10 {
				t.Errorf("the daemon logged %d bytes for one rejected edit", n)
			}
			if rss := peakRSS(t, p.cmd.Process.Pid); rss > 512<<20 {
				t.Errorf("peak RSS %d MB", rss>>20)
			}
		})
	}

	writeFile(t, filepath.Join(dir, "main.hcl"), main)
	st := p.waitConverged(t, 60*time.Second)
	if r := remoteStatus(t, st, "primary"); r.Objects != 1 {
		t.Errorf("objects = %d after restoring the file, want 1", r.Objects)
	}
	if _, err := primary.LxcErr("profile", "show", keep); err != nil {
		t.Errorf("profile %s gone: %v", keep, err)
	}
	t.Logf("peak RSS of the daemon over the test: %d MB", peakRSS(t, p.cmd.Process.Pid)>>20)
}

// peakRSS is a process's peak resident set size (VmHWM) in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB"), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

func firstLineOf(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
