package enginetest_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/enginetest"
	"github.com/lxnetd/lxnetd/engine/enginetest/conformance"
)

// TestFakeConformance holds the fake to the suite the LXD adapter passes
// against real LXD (internal/lxd's TestConformance).
func TestFakeConformance(t *testing.T) {
	var n atomic.Int64
	next := func() int64 { return n.Add(1) }
	conformance.Run(t, conformance.Env{
		NewRemote:    func(*testing.T) engine.Remote { return enginetest.New("fake") },
		Name:         func(_ testing.TB, prefix string) string { return fmt.Sprintf("%s-%d", prefix, next()) },
		Subnet:       func(testing.TB) string { return fmt.Sprintf("10.231.%d.0/24", 32+next()%200) },
		FloatingIP:   func(testing.TB) string { return fmt.Sprintf("198.51.100.%d", 2+next()%250) },
		Image:        "busybox",
		MissingImage: "no-such-image",
	})
}
