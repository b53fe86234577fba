package lxd

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/lxnetd/lxnetd/engine"
)

// ETags.
//
// LXD returns an ETag only on single-object GETs; the bulk lists the engine
// observes with (GetNetworks, GetProfiles, GetInstances) carry none. The
// ETag the adapter hands the engine is therefore its own: a hash of the
// object's writable state as listed. An update first GETs the object (one
// request, which also yields LXD's real ETag), recomputes the hash from that
// fresh copy and fails with engine.ErrPreconditionFailed when it differs from
// the one the engine passed — the object changed since it was observed. It
// then writes with LXD's real ETag in If-Match, so a change between that GET
// and the write is also answered by LXD with 412, mapped to the same error.
//
// Recomputing LXD's own hash client-side was rejected: for instances it
// hashes the numeric architecture and the full expanded profile objects,
// which differ between LXD versions.

// etagOf hashes v's JSON encoding (maps encode with sorted keys, so equal
// values give equal hashes).
func etagOf(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		// Only maps of strings, strings and slices of strings are hashed.
		panic("lxd: hashing observed state: " + err.Error())
	}
	sum := sha256.Sum256(data)
	return "lxnetd:" + hex.EncodeToString(sum[:16])
}

func networkETag(description string, config map[string]string) string {
	return etagOf([]any{"network", description, nonNilMap(config)})
}

func profileETag(description string, config map[string]string, devices map[string]map[string]string) string {
	return etagOf([]any{"profile", description, nonNilMap(config), nonNilDevices(devices)})
}

// instanceETag leaves out the volatile.* keys: LXD rewrites them whenever
// an instance starts or stops (volatile.last_state.power,
// volatile.eth0.host_name, ...), and UpdateInstance keeps the current ones
// anyway, so a restart between observe and update is no conflict.
func instanceETag(description string, profiles []string, config map[string]string, devices map[string]map[string]string) string {
	if profiles == nil {
		profiles = []string{}
	}
	written := make(map[string]string, len(config))
	for k, v := range config {
		if !strings.HasPrefix(k, "volatile.") {
			written[k] = v
		}
	}
	return etagOf([]any{"instance", description, profiles, written, nonNilDevices(devices)})
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilDevices(m map[string]map[string]string) map[string]map[string]string {
	if m == nil {
		return map[string]map[string]string{}
	}
	return m
}

// updateIfUnchanged is the conditional update described above of the
// object name (what: `network "br0"`): get reads it (its state and LXD's
// ETag); when etag, the engine's ("" for none), differs from what etagOf
// hashes of that state, it fails with ErrPreconditionFailed; otherwise
// update writes put with LXD's ETag.
func updateIfUnchanged[C, P any](what, name, etag string, get func(string) (C, string, error), etagOf func(C) string,
	update func(string, P, string) error, put P) error {
	cur, lxdETag, err := get(name)
	if err != nil {
		return fmt.Errorf("updating %s: %w", what, mapError(err))
	}
	if etag != "" && etagOf(cur) != etag {
		return fmt.Errorf("updating %s: changed since it was read: %w", what, engine.ErrPreconditionFailed)
	}
	if err := update(name, put, lxdETag); err != nil {
		err = refusalUnlessGone(mapError(err), func() error { _, _, err := get(name); return err })
		return fmt.Errorf("updating %s: %w", what, err)
	}
	return nil
}
