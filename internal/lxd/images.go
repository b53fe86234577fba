package lxd

import (
	"context"
	"slices"

	"github.com/canonical/lxd/shared/api"

	"github.com/lxnetd/lxnetd/engine"
)

// ListImages returns every image of the project with its aliases in one
// request (GET /1.0/images?recursion=1), sorted by fingerprint: the planner
// resolves a node's image to the fingerprint its instance records in
// volatile.base_image.
func (r *Remote) ListImages(ctx context.Context) ([]engine.Image, error) {
	return listed("images", r.client(ctx).GetImages, imageFromAPI, sortImages)
}

func imageFromAPI(im api.Image) engine.Image {
	out := engine.Image{Fingerprint: im.Fingerprint, Aliases: []string{}}
	for _, a := range im.Aliases {
		out.Aliases = append(out.Aliases, a.Name)
	}
	slices.Sort(out.Aliases)
	return out
}
