// Package planfile is the format of a saved plan: what `lxnetd plan --out
// FILE` writes and `lxnetd apply FILE` reads.
//
// Like Terraform's plan files, a saved plan lets an operator review a plan
// and later apply exactly that plan, or nothing. To know that "exactly" still
// holds, the file keeps what the plan was made from: a hash of every file of
// the configuration directory and of the LXNET_VAR_* variables, the
// --var/--var-file/--target options, and per remote a digest of the objects
// the plan depends on (engine.Digest). apply compares them with the present
// and refuses, naming what changed, before any write.
//
// The file is JSON with a format_version; it changes only when a field
// changes meaning or disappears, and a file of another version is refused.
// It holds configuration values (those of --var included, and values derived
// from sensitive variables), so it is written with mode 0600 and must be
// protected like the configuration itself.
package planfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lxnetd/lxnetd/engine"
)

// FormatVersion is the version of the saved plan format.
const FormatVersion = "1"

// File is a saved plan.
type File struct {
	FormatVersion string `json:"format_version"`
	// LxnetdVersion is the version of the lxnetd that made the plan; another
	// version may plan differently, so apply refuses the file.
	LxnetdVersion string    `json:"lxnetd_version"`
	CreatedAt     time.Time `json:"created_at"`
	Config        Config    `json:"config"`
	Remotes       []Remote  `json:"remotes"`
}

// Config is what the plan was made from, and how to load it again.
type Config struct {
	// Dir is the absolute path of the configuration directory.
	Dir string `json:"dir"`
	// Hash is the configuration's own hash (spec.Config.Hash: its files and
	// the values of its variables).
	Hash string `json:"hash"`
	// Inputs are the SHA-256 of every input: "file NAME" for each file under
	// Dir (NAME relative to it), "var-file PATH" for each --var-file,
	// "env LXNET_VAR_x" for each such environment variable. Per input, so
	// that apply can name what changed.
	Inputs map[string]string `json:"inputs"`
	// The options of the plan command, given again when apply loads the
	// configuration. VarFiles are absolute.
	Vars     map[string]string `json:"vars,omitempty"`
	VarFiles []string          `json:"var_files,omitempty"`
	Targets  []string          `json:"targets,omitempty"`
	Replace  []string          `json:"replace,omitempty"`
}

// Remote is the plan of one remote and what it was observed to hold.
type Remote struct {
	Name     string           `json:"name"`
	Owner    string           `json:"owner"`
	Changes  []*engine.Change `json:"changes"`
	Orphans  []string         `json:"orphans,omitempty"`
	Blockers []string         `json:"blockers,omitempty"`
	Owned    int              `json:"owned"`
	// Observed is the digest of the objects the plan depends on.
	Observed engine.Digest `json:"observed"`
}

// FromPlan is the saved form of one remote's plan with its observation's digest.
func FromPlan(p *engine.Plan, observed engine.Digest) Remote {
	return Remote{Name: p.Remote, Owner: p.Owner, Changes: p.Changes, Orphans: p.Orphans,
		Blockers: p.Blockers, Owned: p.Owned, Observed: observed}
}

// Plan is the saved plan as the engine's value.
func (r Remote) Plan() *engine.Plan {
	return &engine.Plan{Remote: r.Name, Owner: r.Owner, Changes: r.Changes, Orphans: r.Orphans,
		Blockers: r.Blockers, Owned: r.Owned}
}

// Write writes f to path with mode 0600, atomically (a temporary file in
// the same directory, renamed over path): a plan file is never half written.
func Write(path string, f *File) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing the plan: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the plan: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the plan: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the plan: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing the plan: %w", err)
	}
	return nil
}

// Read reads a saved plan, refusing files of another format version and
// files that are not saved plans at all.
func Read(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var probe struct {
		FormatVersion *string `json:"format_version"`
	}
	if err := json.Unmarshal(b, &probe); err != nil || probe.FormatVersion == nil {
		return nil, fmt.Errorf("%s is not a saved plan (one that lxnetd plan --out writes); to apply a configuration, give its directory", path)
	}
	if *probe.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("%s is a saved plan of format version %q; this lxnetd reads version %q: make a new plan with lxnetd plan --out", path, *probe.FormatVersion, FormatVersion)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("reading the saved plan %s: %w", path, err)
	}
	if f.Config.Dir == "" || !filepath.IsAbs(f.Config.Dir) {
		return nil, fmt.Errorf("reading the saved plan %s: it names no absolute configuration directory", path)
	}
	return &f, nil
}

// maxFiles bounds the files HashInputs reads: a configuration directory is
// small, and a plan of "/" by mistake should fail, not read the disk.
const maxFiles = 10000

// HashInputs hashes every input of a configuration: every file under dir
// (templates read by file() and templatefile() included; dotfiles, backup
// files ending in "~" and "#autosave#" files are skipped, as the
// configuration skips them, so an editor's swap file does not make a plan
// stale; so are saved plans), the var files, and the LXNET_VAR_* entries of
// environ.
func HashInputs(dir string, varFiles, environ []string) (map[string]string, error) {
	out := map[string]string{}
	fsys := os.DirFS(dir)
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if p != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "#") || strings.HasSuffix(name, "~")) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if len(out) >= maxFiles {
			return fmt.Errorf("more than %d files under %s", maxFiles, dir)
		}
		h, err := hashFile(fsys, p)
		switch {
		case errors.Is(err, errDir), errors.Is(err, errSavedPlan):
			return nil // a symlink to a directory (not followed), or a saved plan
		case errors.Is(err, fs.ErrNotExist) && d.Type()&fs.ModeSymlink != 0:
			h = "dangling symlink" // the configuration refuses it; the plan records it
		case err != nil:
			return err
		}
		out["file "+p] = h
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hashing the configuration: %w", err)
	}
	for _, path := range varFiles {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("hashing the configuration: %w", err)
		}
		out["var-file "+path] = hashBytes(b)
	}
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "LXNET_VAR_") {
			out["env "+name] = hashBytes([]byte(value))
		}
	}
	return out, nil
}

var (
	errDir       = errors.New("a directory")
	errSavedPlan = errors.New("a saved plan")
)

// hashFile hashes a file of the configuration directory. Saved plans are
// not inputs (errSavedPlan): `lxnetd plan --out tfplan` run inside the
// directory must not make its own plan, or an older one, stale.
func hashFile(fsys fs.FS, name string) (string, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.IsDir() {
		return "", errDir
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return "", err
	}
	if isSavedPlan(b) {
		return "", errSavedPlan
	}
	return hashBytes(b), nil
}

// isSavedPlan reports whether b is a saved plan (of any format version).
func isSavedPlan(b []byte) bool {
	if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
		return false
	}
	var probe struct {
		FormatVersion *string `json:"format_version"`
		LxnetdVersion *string `json:"lxnetd_version"`
	}
	return json.Unmarshal(b, &probe) == nil && probe.FormatVersion != nil && probe.LxnetdVersion != nil
}

func hashBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// CompareInputs names, sorted, every input that changed, appeared or
// disappeared between saved and fresh ("file main.hcl changed").
func CompareInputs(saved, fresh map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(saved)) {
		v, ok := fresh[k]
		switch {
		case !ok && strings.HasPrefix(k, "env "):
			out = append(out, describe(k)+" was unset")
		case !ok:
			out = append(out, describe(k)+" was removed")
		case v != saved[k]:
			out = append(out, describe(k)+" changed")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(fresh)) {
		if _, ok := saved[k]; ok {
			continue
		}
		if strings.HasPrefix(k, "env ") {
			out = append(out, describe(k)+" was set")
		} else {
			out = append(out, describe(k)+" was added")
		}
	}
	slices.Sort(out)
	return out
}

// describe turns an input key into words: "file main.hcl" → `file "main.hcl"`.
func describe(key string) string {
	kind, name, _ := strings.Cut(key, " ")
	switch kind {
	case "env":
		return "environment variable " + name
	case "var-file":
		return fmt.Sprintf("--var-file %q", name)
	}
	return fmt.Sprintf("%s %q", kind, name)
}
