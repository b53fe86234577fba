package engine_test

import (
	"testing"

	"github.com/lxnetd/lxnetd/engine"
)

func TestLooksLikeFingerprint(t *testing.T) {
	for s, want := range map[string]bool{
		"busybox": false, "ubuntu/22.04": false, "abc": false,
		"0123456789ab": true, "7c5ea0f0d6e5b1f3f8c3": true, "ABCDEF012345": false,
	} {
		if got := engine.LooksLikeFingerprint(s); got != want {
			t.Errorf("LooksLikeFingerprint(%q) = %v", s, got)
		}
	}
}
