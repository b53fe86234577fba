//go:build integration

package lxd

import (
	"slices"
	"strings"
	"testing"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestListImages: one request lists every image with its aliases, sorted by
// fingerprint, and an instance created from an alias records that image's
// fingerprint in volatile.base_image, which is what plans compare.
func TestListImages(t *testing.T) {
	bothDaemons(t, func(t *testing.T, d *sandbox.Daemon, r *Remote) {
		alias := sandbox.UniqueName(t, "img")
		fp := d.ImportImageVariant(t, alias, map[string]string{"var/www/version.txt": alias + "\n"})
		before := r.Requests()
		imgs, err := r.ListImages(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if n := r.Requests() - before; n != 1 {
			t.Errorf("ListImages took %d requests, want 1", n)
		}
		if !slices.IsSortedFunc(imgs, func(a, b engine.Image) int { return strings.Compare(a.Fingerprint, b.Fingerprint) }) {
			t.Errorf("images not sorted by fingerprint: %v", imgs)
		}
		i := slices.IndexFunc(imgs, func(im engine.Image) bool { return im.Fingerprint == fp })
		if i < 0 || !slices.Equal(imgs[i].Aliases, []string{alias}) {
			t.Fatalf("image %s with alias %s not listed: %v", fp, alias, imgs)
		}
		name := sandbox.UniqueName(t, "lxi")
		t.Cleanup(func() { deleteInstanceByHand(d, name) })
		if err := r.CreateInstance(testCtx(t), engine.Instance{Name: name, Image: alias, Profiles: []string{"default"}}); err != nil {
			t.Fatal(err)
		}
		inst, _ := findInstance(t, r, name)
		if got := inst.Config["volatile.base_image"]; got != fp {
			t.Errorf("volatile.base_image = %q, want %s", got, fp)
		}
	})
}
