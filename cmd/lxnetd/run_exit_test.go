package main

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunExitStatus: `lxnetd run` on an invalid configuration exits 78
// (the status lxnetd.service lists in RestartPreventExitStatus=) and tells
// systemd why in STATUS=; a failure that is not the configuration's (here the
// control socket cannot be created) exits 1, which Restart=on-failure retries.
func TestRunExitStatus(t *testing.T) {
	tmp := t.TempDir()
	notify := filepath.Join(tmp, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notify, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", notify)

	bad := filepath.Join(tmp, "bad")
	good := filepath.Join(tmp, "good")
	for d, src := range map[string]string{
		bad:  "network \"lan\" {\n  tpye = \"bridge\"\n}\n",
		good: "lxnet {\n  owner = \"t-exit\"\n}\n",
	} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "main.hcl"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	code := func(args ...string) int {
		t.Helper()
		root := newRootCommand()
		root.SetArgs(args)
		var out strings.Builder
		root.SetOut(&out)
		root.SetErr(&out)
		err := root.Execute()
		var ee exitError
		if !errors.As(err, &ee) {
			t.Fatalf("lxnetd %s: %v, want an exit status\n%s", strings.Join(args, " "), err, out.String())
		}
		return ee.code
	}

	if got := code("run", bad, "--log-format", "text", "--socket", filepath.Join(tmp, "c.sock")); got != 78 {
		t.Errorf("run on an invalid configuration exits %d, want 78", got)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no sd_notify message after the configuration error: %v", err)
	}
	if msg := string(buf[:n]); !strings.HasPrefix(msg, "STATUS=configuration rejected at start-up: ") || !strings.Contains(msg, "main.hcl:2") {
		t.Errorf("STATUS after the configuration error = %q, want the file and line", msg)
	}

	// A valid configuration, but the control socket's directory is a file.
	if got := code("run", good, "--log-format", "text", "--socket", filepath.Join(good, "main.hcl", "c.sock")); got != 1 {
		t.Errorf("run whose control socket cannot be created exits %d, want 1 (restarted by systemd)", got)
	}
}
