package sandbox

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// ImportImageVariant imports a copy of the sandbox's busybox image with
// files added to its root file system (path inside the container →
// content), under alias on d, and returns its fingerprint. Different files
// make a different image (another fingerprint) that boots and serves like
// busybox: a test can tell which image a container runs by fetching
// /FILE from its httpd when it adds var/www/FILE. The image is deleted in
// t.Cleanup; alias must be unique (UniqueName).
func (d *Daemon) ImportImageVariant(t testing.TB, alias string, files map[string]string) string {
	t.Helper()
	src, err := filepath.Glob(filepath.Join(Dir(), "image", "busybox-v*.tar.gz"))
	if err != nil || len(src) != 1 {
		t.Fatalf("finding the sandbox's busybox image in %s: %v %v (make sandbox-up)", filepath.Join(Dir(), "image"), src, err)
	}
	out := filepath.Join(t.TempDir(), alias+".tar.gz")
	if err := repack(src[0], out, files); err != nil {
		t.Fatalf("building image %s: %v", alias, err)
	}
	fp, err := fileSHA256(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := d.LxcErr("image", "info", fp); err != nil {
			return
		}
		if _, err := d.LxcErr("image", "delete", fp); err != nil {
			t.Errorf("cleaning up sandbox image %s: %v", alias, err)
		}
	})
	d.Lxc(t, "image", "import", out, "--alias", alias)
	return fp
}

// repack copies the unified image tarball src to dst with files added
// under rootfs/, owned by root.
func repack(src, dst string, files map[string]string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		return err
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if _, replaced := files[rootfsPath(h.Name)]; replaced {
			continue
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
	for path, content := range files {
		h := &tar.Header{Name: "rootfs/" + path, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := io.WriteString(tw, content); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// rootfsPath is a tar entry's path inside the root file system ("" when it
// is not under rootfs/).
func rootfsPath(name string) string {
	rel, err := filepath.Rel("rootfs", filepath.Clean(name))
	if err != nil || rel == "." || filepath.IsAbs(rel) || len(rel) >= 2 && rel[:2] == ".." {
		return ""
	}
	return rel
}

// fileSHA256 is LXD's fingerprint of a unified image: the SHA-256 of the
// tarball.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
