//go:build integration

package daemon_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// parseJournal decodes one datagram of journald's native protocol: lines
// KEY=value, or KEY\n<64-bit little-endian length><value>\n for values
// with newlines.
func parseJournal(b []byte) (map[string]string, error) {
	out := map[string]string{}
	for len(b) > 0 {
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			return nil, fmt.Errorf("unterminated field %q", b)
		}
		line := b[:nl]
		if k, v, ok := bytes.Cut(line, []byte("=")); ok {
			out[string(k)] = string(v)
			b = b[nl+1:]
			continue
		}
		b = b[nl+1:]
		if len(b) < 8 {
			return nil, fmt.Errorf("short binary field %q", line)
		}
		n := binary.LittleEndian.Uint64(b[:8])
		if uint64(len(b)) < 8+n+1 {
			return nil, fmt.Errorf("short binary value for %q", line)
		}
		out[string(line)] = string(b[8 : 8+n])
		b = b[8+n+1:]
	}
	return out, nil
}

// TestRunJournalFields drives `lxnetd run` with stderr announced as the
// journal (JOURNAL_STREAM = its device:inode, as systemd sets it), so it
// picks the journald handler by itself, and a fake journald socket (the
// binary is built with go-systemd's socket path pointed at it). The entries
// must carry PRIORITY, SYSLOG_IDENTIFIER and LXNETD_* fields.
func TestRunJournalFields(t *testing.T) {
	primary := sandbox.Primary(t)
	owner := sandbox.UniqueName(t, "djrn")
	prof := sandbox.UniqueName(t, "djrnp")
	t.Cleanup(func() { _, _ = primary.LxcErr("profile", "delete", prof) })

	tmp := t.TempDir()
	sock := filepath.Join(tmp, "journal.sock")
	bin := filepath.Join(tmp, "lxnetd")
	build := exec.Command("go", "build", "-ldflags", "-X github.com/coreos/go-systemd/v22/journal.journalSocket="+sock, "-o", bin, "github.com/lxnetd/lxnetd/cmd/lxnetd")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building lxnetd with a test journal socket: %v\n%s", err, out)
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	entries := make(chan map[string]string, 1024)
	go func() {
		buf := make([]byte, 1<<20)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			if e, err := parseJournal(buf[:n]); err == nil {
				entries <- e
			} else {
				t.Errorf("malformed journal datagram: %v", err)
			}
		}
	}()

	dir := filepath.Join(tmp, "conf")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "main.hcl"), fmt.Sprintf("lxnet {\n  owner = %q\n  resync_interval = \"1h\"\n}\n", owner)+
		remoteHCL("primary", primary.Remote(), "")+fmt.Sprintf("profile %q {\n  remote = remote.primary\n}\n", prof))

	stderr, err := os.Create(filepath.Join(tmp, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(stderr.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config-dir", dir, "--socket", filepath.Join(tmp, "ctl.sock"))
	cmd.Env = append(os.Environ(), fmt.Sprintf("JOURNAL_STREAM=%d:%d", st.Dev, st.Ino))
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		}
	}
	defer stop()

	// want waits for an entry whose MESSAGE starts with msg.
	want := func(msg string, within time.Duration) map[string]string {
		t.Helper()
		deadline := time.After(within)
		for {
			select {
			case e := <-entries:
				if strings.HasPrefix(e["MESSAGE"], msg) {
					return e
				}
			case <-deadline:
				b, _ := os.ReadFile(stderr.Name())
				t.Fatalf("no journal entry %q within %v (stderr: %q)", msg, within, b)
				return nil
			}
		}
	}
	applied := want("change applied", 90*time.Second)
	t.Logf("journal entry: %q", applied)
	for k, v := range map[string]string{
		"PRIORITY":          "6",
		"SYSLOG_IDENTIFIER": "lxnetd",
		"LXNETD_REMOTE":     "primary",
		"LXNETD_OBJECT":     "profile." + prof,
		"LXNETD_ACTION":     "create",
	} {
		if applied[k] != v {
			t.Errorf("%s = %q, want %q", k, applied[k], v)
		}
	}
	if len(applied["LXNETD_PLAN_ID"]) != 12 || applied["CODE_FILE"] == "" {
		t.Errorf("LXNETD_PLAN_ID = %q, CODE_FILE = %q", applied["LXNETD_PLAN_ID"], applied["CODE_FILE"])
	}

	// A rejected edit is an error entry naming the file and line.
	writeFile(t, filepath.Join(dir, "bad.hcl"), "profile \"x\" {\n  nonsense = 1\n}\n")
	rejected := want("configuration rejected", 30*time.Second)
	t.Logf("journal entry: %q", rejected)
	if rejected["PRIORITY"] != "3" || !strings.HasPrefix(rejected["LXNETD_ERR"], "bad.hcl:2,3") {
		t.Errorf("rejected edit entry: PRIORITY=%q LXNETD_ERR=%q", rejected["PRIORITY"], rejected["LXNETD_ERR"])
	}
	stop()
	if b, _ := os.ReadFile(stderr.Name()); len(bytes.TrimSpace(b)) != 0 {
		t.Errorf("with the journal in use nothing should go to stderr, got %q", b)
	}
}
