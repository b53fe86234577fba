package lxd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// TestClientKeyModeRefused: Connect refuses a client key that group or
// others can read before dialing, naming the path and the mode; 0600 and
// 0400 pass the check (and then fail only on the unreachable address).
func TestClientKeyModeRefused(t *testing.T) {
	dir := t.TempDir()
	cert := filepath.Join(dir, "client.crt")
	if err := os.WriteFile(cert, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mode    os.FileMode
		refused bool
	}{{0o644, true}, {0o640, true}, {0o604, true}, {0o666, true}, {0o600, false}, {0o400, false}} {
		key := filepath.Join(dir, "client.key")
		if err := os.WriteFile(key, []byte("not a key"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(key, tc.mode); err != nil {
			t.Fatal(err)
		}
		// Port 1 on loopback: nothing listens, nothing leaves the machine.
		_, err := Connect(context.Background(), &spec.Remote{Name: "r", Address: "https://127.0.0.1:1",
			ClientCert: cert, ClientKey: key, ServerFingerprint: "sha256:" + strings.Repeat("ab", 32)})
		if err == nil {
			t.Fatalf("mode %04o: Connect succeeded", tc.mode)
		}
		msg := err.Error()
		named := strings.Contains(msg, key) && strings.Contains(msg, "chmod 600")
		if tc.refused != named {
			t.Errorf("mode %04o: refused=%v, want %v: %v", tc.mode, named, tc.refused, err)
		}
		if want := fmt.Sprintf("mode %04o", tc.mode.Perm()); tc.refused && !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
}
