//go:build integration

package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/lxnetd/lxnetd/internal/daemon"
)

// lxnetdBin is the real binary, built once; the tests drive it as systemd
// would, as a subprocess.
var lxnetdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lxnetd-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lxnetdBin = filepath.Join(dir, "lxnetd")
	out, err := exec.Command("go", "build", "-o", lxnetdBin, "github.com/lxnetd/lxnetd/cmd/lxnetd").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building lxnetd: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer collects the daemon's log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is one running `lxnetd run`.
type proc struct {
	cmd    *exec.Cmd
	socket string
	log    *syncBuffer
	done   chan struct{}
	err    error
}

// startLxnetd runs `lxnetd run` on dir with extra environment variables. It
// is stopped with SIGTERM in t.Cleanup (its log is printed when t failed).
func startLxnetd(t *testing.T, dir string, env ...string) *proc {
	t.Helper()
	return startLxnetdArgs(t, dir, nil, env...)
}

// startLxnetdArgs is startLxnetd with extra `lxnetd run` flags.
func startLxnetdArgs(t *testing.T, dir string, args []string, env ...string) *proc {
	t.Helper()
	p := &proc{socket: filepath.Join(t.TempDir(), "control.sock"), log: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(lxnetdBin, append([]string{"run", "--config-dir", dir, "--socket", p.socket, "--log-format", "text", "--log-level", "debug"}, args...)...)
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "NOTIFY_SOCKET=") && !strings.HasPrefix(e, "WATCHDOG_") && !strings.HasPrefix(e, "JOURNAL_STREAM=") {
			p.cmd.Env = append(p.cmd.Env, e)
		}
	}
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting lxnetd: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("lxnetd log:\n%s", p.log.String())
		}
	})
	return p
}

// stop sends SIGTERM and waits; it returns the exit error (nil for exit 0).
func (p *proc) stop(t *testing.T) error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Errorf("lxnetd did not stop within 30s of SIGTERM; killing it")
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	return p.err
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// status asks the daemon over its control socket, waiting for the socket to
// appear after start-up.
func (p *proc) status(t *testing.T) *daemon.Status {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		resp, err := daemon.Ask(ctx, p.socket, daemon.Request{Command: "status"})
		cancel()
		if err == nil && resp.OK {
			return resp.Status
		}
		if p.exited() {
			t.Fatalf("lxnetd exited (%v); log:\n%s", p.err, p.log.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("no status from lxnetd: %v %+v", err, resp)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitFor polls the daemon's status until cond holds.
func (p *proc) waitFor(t *testing.T, what string, within time.Duration, cond func(*daemon.Status) bool) *daemon.Status {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st := p.status(t)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(st, "", "  ")
			t.Fatalf("timed out after %s waiting for %s; status:\n%s", within, what, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *proc) waitConverged(t *testing.T, within time.Duration) *daemon.Status {
	t.Helper()
	return p.waitFor(t, "convergence", within, func(s *daemon.Status) bool { return s.Converged() })
}

func remoteStatus(t *testing.T, st *daemon.Status, name string) daemon.RemoteStatus {
	t.Helper()
	for _, r := range st.Remotes {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no remote %q in status %+v", name, st)
	return daemon.RemoteStatus{}
}

// cpuTime is the process's user+system CPU time from /proc.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the ")" that ends the command name; utime and stime are
	// fields 14 and 15 of the whole line (index 11 and 12 here).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const hz = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / hz
}

// remoteHCL renders a remote block from the sandbox's connection fields.
func remoteHCL(name string, r spec.Remote, project string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "remote %q {\n  address = %q\n", name, r.Address)
	for _, kv := range [][2]string{
		{"client_cert", r.ClientCert}, {"client_key", r.ClientKey},
		{"server_fingerprint", r.ServerFingerprint}, {"project", project},
	} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "  %s = %q\n", kv[0], kv[1])
		}
	}
	b.WriteString("}\n")
	return b.String()
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	// Write then rename, as editors and config management do.
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// notifySocket is a fake systemd: it records every sd_notify datagram, and
// the kernel's receive time of every WATCHDOG=1 (SO_TIMESTAMPNS), so that
// ping intervals do not depend on when a loaded test got round to reading.
type notifySocket struct {
	path string
	c    chan string

	mu    sync.Mutex
	pings []time.Time
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	raw, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		t.Fatalf("SO_TIMESTAMPNS: %v %v", err, serr)
	}
	n := &notifySocket{path: path, c: make(chan string, 4096)}
	go func() {
		buf := make([]byte, 65536)
		oob := make([]byte, 256)
		for {
			k, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
			if err != nil {
				close(n.c)
				return
			}
			m := string(buf[:k])
			if m == "WATCHDOG=1" {
				n.mu.Lock()
				n.pings = append(n.pings, receivedAt(oob[:oobn]))
				n.mu.Unlock()
			}
			n.c <- m
		}
	}()
	return n
}

// receivedAt is the kernel's receive time from a SCM_TIMESTAMPNS control
// message (the wall clock, like time.Now, if the kernel sent none).
func receivedAt(oob []byte) time.Time {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err == nil {
		for _, m := range msgs {
			if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
				ts := (*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
				return time.Unix(ts.Unix())
			}
		}
	}
	return time.Now()
}

// pingTimes returns the kernel receive times of the WATCHDOG=1 datagrams
// so far, oldest first.
func (n *notifySocket) pingTimes() []time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.pings)
}

// next returns the next datagram within d, or "" on timeout.
func (n *notifySocket) next(d time.Duration) string {
	select {
	case m, ok := <-n.c:
		if !ok {
			return ""
		}
		return m
	case <-time.After(d):
		return ""
	}
}
