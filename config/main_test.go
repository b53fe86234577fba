package config

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain makes the private keys of the checked-in test directories
// readable by their owner only before the tests load them: git records no
// file modes but the executable bit, so a checkout leaves them 0644, which
// Load refuses (README "Remotes"). A bad case that needs a wrong mode sets
// it in its options.json ("chmod").
func TestMain(m *testing.M) {
	if err := privateKeys("../testdata", "../examples"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// privateKeys sets every *.key file under roots to mode 0600.
func privateKeys(roots ...string) error {
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".key") {
				return err
			}
			return os.Chmod(path, 0o600)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
