package lxd

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/canonical/lxd/shared/api"

	"github.com/lxnetd/lxnetd/engine"
)

// ListImages returns every image of the project with its aliases in one
// request (GET /1.0/images?recursion=1), sorted by fingerprint: the planner
// resolves a node's image to the fingerprint its instance records in
// volatile.base_image.
func (r *Remote) ListImages(ctx context.Context) ([]engine.Image, error) {
	imgs, err := r.client(ctx).GetImages()
	if err != nil {
		return nil, fmt.Errorf("listing images: %w", mapError(err))
	}
	out := make([]engine.Image, 0, len(imgs))
	for _, im := range imgs {
		out = append(out, imageFromAPI(im))
	}
	slices.SortFunc(out, func(a, b engine.Image) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	return out, nil
}

func imageFromAPI(im api.Image) engine.Image {
	out := engine.Image{Fingerprint: im.Fingerprint, Aliases: []string{}}
	for _, a := range im.Aliases {
		out.Aliases = append(out.Aliases, a.Name)
	}
	slices.Sort(out.Aliases)
	return out
}
