//go:build integration

package packaging

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestDebReproducible: a second `make deb` from the same commit gives the
// same bytes (SOURCE_DATE_EPOCH from the commit, -trimpath, -buildid=,
// gzip -n, fixed owners and order in the archive). The second build reuses
// Go's build cache, so it costs the packaging steps, not a compile. On a
// difference, both packages' contents are listed to show where.
func TestDebReproducible(t *testing.T) {
	first := debPackage(t)
	a, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	second, err := makeDeb()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(second)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(first) != filepath.Base(second) {
		t.Fatalf("the two builds are named %s and %s", filepath.Base(first), filepath.Base(second))
	}
	if !bytes.Equal(a, b) {
		keep := filepath.Join(t.TempDir(), "first.deb")
		_ = os.WriteFile(keep, a, 0o644)
		la, _ := exec.Command("dpkg-deb", "-c", keep).CombinedOutput()
		lb, _ := exec.Command("dpkg-deb", "-c", second).CombinedOutput()
		t.Fatalf("two builds of one commit differ (%d vs %d bytes)\nfirst:\n%s\nsecond:\n%s", len(a), len(b), la, lb)
	}
}
