package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/lxnetd/lxnetd/config/files"
)

// DirWatcher reports changes of the configuration directory's file set.
//
// It watches the directory itself, never single files: editors save by
// renaming a temporary file over the original, and Kubernetes-style tools
// swap a `..data` symlink, both of which silently end a watch on a file.
// It also watches the parent, filtered to the directory's name, so a
// directory that is deleted and recreated is picked up again.
//
// Any event other than Chmod starts a debounce window; when it closes, the
// watcher hashes the file set (names and contents of the *.hcl files lxnetd
// reads, following symlinks) and sends on C only if the hash changed, so a
// burst of editor writes is one reload, and touching a file is none.
// The watch is also re-added and the directory rescanned periodically and
// after an event-queue overflow; watcher errors are logged and never end Run.
type DirWatcher struct {
	Dir      string
	Log      *slog.Logger
	Debounce time.Duration // quiet time after the last event; default 300ms
	MaxDelay time.Duration // cap on the debounce from the first event; default 2s
	Rescan   time.Duration // periodic rescan and re-add; default 30s

	// C receives a value whenever the file set's hash changed. It is
	// buffered (1) and coalescing: a slow reader sees one pending change.
	C chan struct{}

	hash string
}

// NewDirWatcher returns a watcher for dir with default timings.
func NewDirWatcher(dir string, log *slog.Logger) *DirWatcher {
	return &DirWatcher{Dir: dir, Log: log, C: make(chan struct{}, 1)}
}

// Run watches until ctx is done. It establishes the watches and computes the
// initial hash before returning from ready (if non-nil), so a caller that
// loads the configuration after ready cannot miss a change.
func (w *DirWatcher) Run(ctx context.Context, ready func()) error {
	if w.Debounce == 0 {
		w.Debounce = 300 * time.Millisecond
	}
	if w.MaxDelay == 0 {
		w.MaxDelay = 2 * time.Second
	}
	if w.Rescan == 0 {
		w.Rescan = 30 * time.Second
	}
	dir, err := filepath.Abs(w.Dir)
	if err != nil {
		return fmt.Errorf("resolving configuration directory %q: %w", w.Dir, err)
	}
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)

	fw, err := fsnotify.NewBufferedWatcher(256)
	if err != nil {
		return fmt.Errorf("creating file watcher: %w", err)
	}
	defer fw.Close()
	if err := fw.Add(parent); err != nil {
		// Without the parent we still watch the directory; the periodic
		// rescan covers a recreated directory.
		w.Log.Warn("cannot watch the configuration directory's parent", "dir", parent, "err", err)
	}
	w.addDir(fw, dir)
	w.hash = HashDir(dir)
	if ready != nil {
		ready()
	}

	rescan := time.NewTicker(w.Rescan)
	defer rescan.Stop()
	var (
		debounce *time.Timer
		fire     <-chan time.Time
		first    time.Time
	)
	schedule := func() {
		now := time.Now()
		if fire == nil {
			first = now
		}
		wait := w.Debounce
		if left := first.Add(w.MaxDelay).Sub(now); left < wait {
			wait = max(left, 0)
		}
		if debounce == nil {
			debounce = time.NewTimer(wait)
		} else {
			debounce.Stop()
			debounce.Reset(wait)
		}
		fire = debounce.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-fw.Events:
			if !ok {
				return errors.New("file watcher closed")
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			name := filepath.Clean(ev.Name)
			if filepath.Dir(name) == parent && name != dir {
				continue // a sibling of the config directory
			}
			if name == dir && ev.Has(fsnotify.Create) {
				w.addDir(fw, dir)
			}
			schedule()
		case err, ok := <-fw.Errors:
			if !ok {
				return errors.New("file watcher closed")
			}
			w.watchError(fw, dir, err)
		case <-fire:
			fire = nil
			w.check(dir)
		case <-rescan.C:
			w.addDir(fw, dir)
			w.check(dir)
		}
	}
}

// watchError handles an error from the watcher without ending the loop. An
// overflowed event queue means events were lost: re-add the watch and
// rescan at once.
func (w *DirWatcher) watchError(fw *fsnotify.Watcher, dir string, err error) {
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		w.Log.Warn("file watcher queue overflowed; rescanning", "dir", dir)
		w.addDir(fw, dir)
		w.check(dir)
		return
	}
	w.Log.Warn("file watcher error", "dir", dir, "err", err)
}

// addDir (re-)adds the directory watch; fsnotify ignores a duplicate Add.
func (w *DirWatcher) addDir(fw *fsnotify.Watcher, dir string) {
	if err := fw.Add(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		w.Log.Warn("cannot watch the configuration directory", "dir", dir, "err", err)
	}
}

// check rehashes the file set and signals C when it changed.
func (w *DirWatcher) check(dir string) {
	h := HashDir(dir)
	if h == w.hash {
		return
	}
	w.hash = h
	select {
	case w.C <- struct{}{}:
	default:
	}
}

// ConfigFiles lists the configuration files of dir in lexical order, by
// the rules every command shares (package config/files): an entry with a
// configuration file's name that is not a readable file (a dangling
// symlink, a directory) is an error, never skipped.
func ConfigFiles(dir string) ([]string, error) { return files.ListErr(os.DirFS(dir)) }

// hashedBytes is how much of one file HashDir reads: above the loader's
// 1 MiB limit per file (config.MaxFileBytes), so every file the loader
// accepts is hashed whole.
const hashedBytes = 2 << 20

// HashDir hashes the names and contents of dir's configuration files. A
// missing or unreadable directory, or an unusable configuration file, hashes
// to a distinct "unreadable:" value (so that breaking a symlink, or fixing
// it, is a change the loader gets to report). Only the first hashedBytes of
// a file are read, with its size and modification time beside them: the
// loader refuses a file that large anyway, and a multi-gigabyte file written
// to a *.hcl name must not cost a full read on every rescan.
func HashDir(dir string) string {
	names, err := ConfigFiles(dir)
	if err != nil {
		return "unreadable:" + err.Error()
	}
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00", n)
		f, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			fmt.Fprintf(h, "error:%v\x00", err)
			continue
		}
		n, err := io.CopyN(h, f, hashedBytes)
		if err == io.EOF {
			err = nil
		}
		if info, statErr := f.Stat(); statErr == nil && n == hashedBytes {
			fmt.Fprintf(h, "\x00size:%d:%d", info.Size(), info.ModTime().UnixNano())
		}
		f.Close()
		fmt.Fprintf(h, "\x00%d:%v\x00", n, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
