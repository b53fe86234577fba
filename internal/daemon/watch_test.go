package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startWatcher runs a DirWatcher on dir with short timings and returns it once
// its watches are established. The debounce is short but leaves a loaded
// machine room: a burst of writes must never straddle two debounces, nor
// last beyond MaxDelay.
func startWatcher(t *testing.T, dir string) *DirWatcher {
	t.Helper()
	w := NewDirWatcher(dir, discard())
	w.Debounce = 200 * time.Millisecond
	w.MaxDelay = 5 * time.Second
	w.Rescan = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, func() { close(ready) }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watcher: %v", err)
		}
	})
	select {
	case <-ready:
	case <-time.After(patience):
		t.Fatal("watcher did not become ready")
	}
	return w
}

func expectChange(t *testing.T, w *DirWatcher, what string) {
	t.Helper()
	select {
	case <-w.C:
	case <-time.After(patience):
		t.Fatalf("%s: no change reported", what)
	}
}

func expectNoChange(t *testing.T, w *DirWatcher, what string) {
	t.Helper()
	select {
	case <-w.C:
		t.Fatalf("%s: change reported, want none", what)
	case <-time.After(3 * w.Debounce): // a change would have come after one
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDirWatcherEdits(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "lxnet.d")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "a.hcl"), "a = 1\n")
	w := startWatcher(t, dir)

	write(t, filepath.Join(dir, "b.hcl"), "b = 1\n")
	expectChange(t, w, "new file")

	// Rewriting identical content, chmod and touching are not changes.
	write(t, filepath.Join(dir, "b.hcl"), "b = 1\n")
	if err := os.Chmod(filepath.Join(dir, "b.hcl"), 0o600); err != nil {
		t.Fatal(err)
	}
	expectNoChange(t, w, "same content")

	// Editor swap and backup files and non-.hcl files are ignored.
	write(t, filepath.Join(dir, ".b.hcl.swp"), "junk")
	write(t, filepath.Join(dir, "b.hcl~"), "junk")
	write(t, filepath.Join(dir, "#b.hcl#"), "junk")
	write(t, filepath.Join(dir, "notes.txt"), "junk")
	expectNoChange(t, w, "swap files")

	// Atomic save: write a temp file, rename over the original.
	write(t, filepath.Join(dir, ".a.hcl.tmp"), "a = 2\n")
	if err := os.Rename(filepath.Join(dir, ".a.hcl.tmp"), filepath.Join(dir, "a.hcl")); err != nil {
		t.Fatal(err)
	}
	expectChange(t, w, "rename over")

	// A burst of writes is one change.
	for i := range 10 {
		write(t, filepath.Join(dir, "a.hcl"), "a = "+string(rune('0'+i))+"\n")
		time.Sleep(5 * time.Millisecond)
	}
	expectChange(t, w, "burst")
	expectNoChange(t, w, "after burst")

	if err := os.Remove(filepath.Join(dir, "b.hcl")); err != nil {
		t.Fatal(err)
	}
	expectChange(t, w, "remove")
}

func TestDirWatcherSymlinkSwap(t *testing.T) {
	// The layout Kubernetes uses for ConfigMap volumes:
	// web.hcl -> ..data/web.hcl, ..data -> ..v1, swapped atomically to ..v2.
	dir := t.TempDir()
	for _, v := range []string{"..v1", "..v2"} {
		if err := os.Mkdir(filepath.Join(dir, v), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(dir, "..v1", "web.hcl"), "v = 1\n")
	write(t, filepath.Join(dir, "..v2", "web.hcl"), "v = 2\n")
	must(t, os.Symlink("..v1", filepath.Join(dir, "..data")))
	must(t, os.Symlink("..data/web.hcl", filepath.Join(dir, "web.hcl")))
	w := startWatcher(t, dir)

	must(t, os.Symlink("..v2", filepath.Join(dir, "..data_tmp")))
	must(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	expectChange(t, w, "..data swap")
}

func TestDirWatcherRecreatedDir(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "lxnet.d")
	must(t, os.Mkdir(dir, 0o755))
	write(t, filepath.Join(dir, "a.hcl"), "a = 1\n")
	w := startWatcher(t, dir)

	// Siblings of the directory in the parent are not changes.
	write(t, filepath.Join(root, "other.hcl"), "x")
	expectNoChange(t, w, "sibling")

	must(t, os.RemoveAll(dir))
	expectChange(t, w, "directory removed")
	must(t, os.Mkdir(dir, 0o755))
	write(t, filepath.Join(dir, "a.hcl"), "a = 2\n")
	expectChange(t, w, "directory recreated")
	// The new directory is watched again.
	write(t, filepath.Join(dir, "a.hcl"), "a = 3\n")
	expectChange(t, w, "edit in recreated directory")
}

func TestDirWatcherPeriodicRescan(t *testing.T) {
	dir := t.TempDir()
	w := NewDirWatcher(dir, discard())
	w.Rescan = 100 * time.Millisecond
	w.Debounce = time.Hour // events alone would never fire
	w.MaxDelay = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	go func() { _ = w.Run(ctx, func() { close(ready) }) }()
	<-ready
	write(t, filepath.Join(dir, "a.hcl"), "a = 1\n")
	expectChange(t, w, "rescan")
}

func TestHashDir(t *testing.T) {
	dir := t.TempDir()
	empty := HashDir(dir)
	write(t, filepath.Join(dir, "a.hcl"), "x")
	one := HashDir(dir)
	if one == empty {
		t.Fatal("adding a file did not change the hash")
	}
	must(t, os.Rename(filepath.Join(dir, "a.hcl"), filepath.Join(dir, "b.hcl")))
	if HashDir(dir) == one {
		t.Fatal("renaming a file did not change the hash")
	}
	if got := HashDir(filepath.Join(dir, "missing")); got == empty {
		t.Fatal("missing directory hashes like an empty one")
	}
	// Which names count is package config/files' rule (tested there); the
	// hash follows it: a dotfile is not hashed, a dangling symlink with a
	// configuration file's name makes the set unreadable.
	two := HashDir(dir)
	write(t, filepath.Join(dir, ".b.hcl.swp"), "x")
	if HashDir(dir) != two {
		t.Error("a swap file changed the hash")
	}
	must(t, os.Symlink("missing.hcl", filepath.Join(dir, "c.hcl")))
	if got := HashDir(dir); !strings.HasPrefix(got, "unreadable:") {
		t.Errorf("dangling symlink: hash %q, want an unreadable: value", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestDirWatcherOverflowRescans(t *testing.T) {
	dir := t.TempDir()
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	w := NewDirWatcher(dir, discard())
	w.hash = HashDir(dir)
	// A change whose events were lost in the overflow.
	write(t, filepath.Join(dir, "a.hcl"), "a = 1\n")
	w.watchError(fw, dir, fmt.Errorf("reading events: %w", fsnotify.ErrEventOverflow))
	select {
	case <-w.C:
	default:
		t.Fatal("overflow did not rescan")
	}
	if len(fw.WatchList()) != 1 {
		t.Errorf("overflow did not re-add the directory watch: %v", fw.WatchList())
	}
	// Other errors are logged and change nothing.
	w.watchError(fw, dir, errors.New("some inotify error"))
	select {
	case <-w.C:
		t.Fatal("a plain error signalled a change")
	default:
	}
}

// A file larger than HashDir reads is still a change when its tail changes:
// its size and modification time are hashed beside its first bytes.
func TestHashDirHugeFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "huge.hcl")
	body := bytes.Repeat([]byte("# x\n"), hashedBytes/2)
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	before := HashDir(dir)
	body[len(body)-2] = 'y'
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if after := HashDir(dir); after == before {
		t.Error("an edit past the hashed prefix did not change the hash")
	}
}
