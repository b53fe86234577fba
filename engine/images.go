package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// Image is an image stored on a remote: what an instance's
// volatile.base_image names, and the aliases that point at it.
type Image struct {
	Fingerprint string // full SHA-256, lower-case hex
	Aliases     []string
}

// images resolves a node's image reference to the fingerprint of an image
// stored on the remote, so a plan compares what an instance was created
// from (LXD records it in volatile.base_image) with what the configuration
// names now. Aliases move (a rolling upgrade points "web" at a new image);
// fingerprints do not.
type images struct {
	byAlias      map[string]string
	fingerprints []string
}

// remoteImageServer reports whether ref names an image on another server
// ("images:debian/12"): lxnetd cannot see there what the alias points at
// without asking that server, so such an image never forces a replace.
func remoteImageServer(ref string) bool { return strings.Contains(ref, ":") }

// needImages reports whether a plan must list the remote's images: only
// when a declared node already exists with an image named on this remote.
// A configuration with no instances yet, or only new ones, costs no image
// list, so a no-op plan of a remote without instances stays at four bulk
// reads plus the forward lists.
func needImages(d *spec.Remote, obs *observed) bool {
	if d == nil || !obs.read.images {
		return false
	}
	for _, i := range d.Instances {
		if _, ok := obs.instances[i.Name]; ok && !remoteImageServer(i.Image) {
			return true
		}
	}
	return false
}

// observeImages lists the remote's images into obs when the plan needs them
// (one request).
func observeImages(ctx context.Context, r Remote, d *spec.Remote, obs *observed) error {
	if !needImages(d, obs) {
		return nil
	}
	list, err := r.ListImages(ctx)
	if err != nil {
		return fmt.Errorf("observing remote %q: %w", r.Name(), err)
	}
	ix := &images{byAlias: map[string]string{}}
	for _, im := range list {
		ix.fingerprints = append(ix.fingerprints, im.Fingerprint)
		for _, a := range im.Aliases {
			ix.byAlias[a] = im.Fingerprint
		}
	}
	obs.images = ix
	return nil
}

// LooksLikeFingerprint says whether an image reference is a (prefix of a)
// SHA-256 fingerprint rather than an alias: 12 to 64 lower-case hex digits.
// The adapter creates instances by fingerprint or by alias by this rule, and
// plans resolve references by the same rule.
func LooksLikeFingerprint(s string) bool {
	if len(s) < 12 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// resolve returns the fingerprint ref names: a fingerprint or a prefix of
// exactly one, or an alias (see LooksLikeFingerprint). ok is false when
// nothing, or more than one image, matches.
func (ix *images) resolve(ref string) (fp string, ok bool) {
	if ix == nil || remoteImageServer(ref) {
		return "", false
	}
	if !LooksLikeFingerprint(ref) {
		fp, ok := ix.byAlias[ref]
		return fp, ok
	}
	var match []string
	for _, f := range ix.fingerprints {
		if strings.HasPrefix(f, ref) {
			match = append(match, f)
		}
	}
	if len(match) != 1 {
		return "", false
	}
	return match[0], true
}

// imageChange says whether a node's declared image differs from the one its
// instance was created from, and if so, the fingerprint it resolves to.
// Whatever cannot be known for sure is no change: an instance without
// volatile.base_image (copied, or created from a backup), an image on
// another server, an alias or fingerprint that names nothing (or several
// images) on the remote, which unknown reports, as creating from it would
// fail. A fingerprint (prefix) the instance was created from is no change
// even when that image has been deleted since.
func (ix *images) imageChange(base, ref string) (after string, changed, unknown bool) {
	if base == "" || remoteImageServer(ref) {
		return "", false, false
	}
	if LooksLikeFingerprint(ref) && strings.HasPrefix(base, ref) {
		return "", false, false
	}
	fp, ok := ix.resolve(ref)
	if !ok {
		return "", false, true
	}
	return fp, fp != base, false
}

// shortFingerprint is how lxc shows a fingerprint (12 characters).
func shortFingerprint(fp string) string {
	if len(fp) > 12 {
		return fp[:12]
	}
	return fp
}
