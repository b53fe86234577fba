// Package files holds the one set of rules for which entries of a
// configuration directory are configuration files, shared by the loader
// (package config: validate, plan, apply, export) and the daemon's watcher
// and loader, so that every command reads the same files.
//
// It imports no HCL: the daemon watches the directory without parsing it.
//
// The rules (README "Configuration language"):
//
//   - A configuration file is a directory entry whose name ends in ".hcl" and
//     does not start with "." (dotfiles: editor swap and lock files such as
//     ".x.hcl.swp" and ".#x.hcl", Kubernetes' "..data" links) or "#" (emacs
//     autosaves "#x.hcl#"; renaming x.hcl to "#x.hcl" sets it aside), and
//     does not end in "~" (backups). Files ending in ".vars.hcl" only assign
//     variables. Other names are not looked at.
//   - Symlinks are followed (a ConfigMap's x.hcl -> ..data/x.hcl). An entry
//     with a configuration file's name that cannot be read as a regular file
//     — a dangling symlink, a directory, an unreadable file — is an error,
//     never skipped: skipping it would make what it declares look removed,
//     and lxnetd would delete it.
//   - A file that is empty or holds only whitespace is an error (see Blank):
//     it is what a truncated write leaves. To remove what a file declared,
//     delete the file. A file that holds only comments is a deliberate, valid
//     file that declares nothing.
//   - A partial file (a write cut off) is refused by the parser when it ends
//     inside a block; one cut off between two blocks cannot be told from a
//     shorter file, which is why files should be written by rename.
package files

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

// Is reports whether a directory entry name is a configuration file name.
func Is(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "#") || strings.HasSuffix(name, "~") {
		return false
	}
	return strings.HasSuffix(name, ".hcl")
}

// IsVars reports whether a configuration file only assigns variables.
func IsVars(name string) bool { return strings.HasSuffix(name, ".vars.hcl") }

// Blank reports whether a file's content is empty or only whitespace: such a
// file is refused as a probable truncated write.
func Blank(src []byte) bool { return len(bytes.TrimSpace(src)) == 0 }

// BlankHint says what to do about a blank file.
const BlankHint = "An empty file is what a truncated write leaves, so lxnetd refuses it rather than take everything it declared as removed. To remove what a file declared, delete the file."

// List returns the configuration files of fsys (rooted at the configuration
// directory) in lexical order, the order they are read in. err is non-nil
// when the directory cannot be read; unusable lists the entries with a
// configuration file's name that are not readable regular files (each an
// *fs.PathError), which must stop a load.
func List(fsys fs.FS) (names []string, unusable []error, err error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, nil, fmt.Errorf("reading configuration directory: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !Is(name) {
			continue
		}
		// Follow symlinks: a file may be a link into a ..data directory.
		info, err := fs.Stat(fsys, name)
		switch {
		case err != nil:
			unusable = append(unusable, err)
		case info.IsDir():
			unusable = append(unusable, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory, not a file")})
		case !info.Mode().IsRegular():
			unusable = append(unusable, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("is not a regular file (%s)", info.Mode().Type())})
		default:
			// Opening proves it readable (permissions, a loop in a
			// ..data link) without reading it.
			f, err := fsys.Open(name)
			if err != nil {
				unusable = append(unusable, err)
				continue
			}
			f.Close()
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, unusable, nil
}

// ListErr is List with the unusable entries joined into the error, for
// callers that only need the names or a reason to stop.
func ListErr(fsys fs.FS) ([]string, error) {
	names, unusable, err := List(fsys)
	if err != nil {
		return nil, err
	}
	if len(unusable) > 0 {
		return nil, fmt.Errorf("reading configuration file: %w", errors.Join(unusable...))
	}
	return names, nil
}
