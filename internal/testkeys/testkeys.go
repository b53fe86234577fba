// Package testkeys prepares the checked-in test directories for tests that
// load them: git records no file modes but the executable bit, so a checkout
// leaves private keys 0644, which lxnetd refuses (README "Remotes").
package testkeys

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Private sets every *.key file under roots to mode 0600.
func Private(roots ...string) error {
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
