package cache

import (
	"context"
	"slices"
	"strings"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// resolveImages resolves desired's node images in the observation, listing
// images again only when needed: after an image or alias event
// (imagesChanged), or when the nodes name other images than last time
// (imageRefs); otherwise the last list serves.
func (c *Cache) resolveImages(ctx context.Context, desired *spec.Remote) error {
	c.mu.Lock()
	refs := imageRefs(desired)
	forget := c.imagesChanged || refs != c.images
	c.imagesChanged = false
	c.mu.Unlock()
	if forget {
		c.obs.ForgetImages()
		c.images = refs
	}
	if err := c.obs.ResolveImages(ctx, c.r, desired); err != nil {
		c.images = "" // list them again next time
		return err
	}
	return nil
}

// imageRefs are the image references of desired's nodes: when they change
// (an edit names another image), images are listed again, as an alias may
// have been imported since.
func imageRefs(desired *spec.Remote) string {
	if desired == nil {
		return ""
	}
	refs := make([]string, 0, len(desired.Instances))
	for _, i := range desired.Instances {
		refs = append(refs, i.Image)
	}
	slices.Sort(refs)
	return strings.Join(slices.Compact(refs), "\x00") + "\x00"
}
