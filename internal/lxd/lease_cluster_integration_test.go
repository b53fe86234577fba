//go:build integration

package lxd

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/engine/lease"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestLeaseAcrossClusterMembers: on an LXD cluster the lease is one key of
// the cluster-wide server configuration. Writers racing through different
// members (whose ETags differ: each member's configuration view includes
// its own local keys) still end with exactly one holder, seen by all. A
// racer whose read-back could not settle (a member slow to apply the change
// under CI load: lease.ErrUnsettled, nothing held) tries again, as the
// daemon would; it never counts as a winner.
func TestLeaseAcrossClusterMembers(t *testing.T) {
	t.Parallel()
	ms := sandbox.Cluster(t, 2)
	ctx := testCtx(t)
	owner := sandbox.UniqueName(t, "lclu")
	const racers = 4
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []*lease.Lease
		refused int
	)
	for i := range racers {
		c := connect(t, ms[i%2])
		h := lease.Holder{Host: ms[i%2].Name, PID: i, Command: "lxnetd test", ID: owner + "-" + strconv.Itoa(i)}
		wg.Go(func() {
			l, err := lease.Acquire(ctx, c, owner, h, time.Minute)
			for try := 1; try < 4 && errors.Is(err, lease.ErrUnsettled); try++ {
				t.Logf("Acquire through %s, try %d: %v", h.Host, try, err)
				l, err = lease.Acquire(ctx, c, owner, h, time.Minute)
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				winners = append(winners, l)
			case errors.As(err, new(*lease.HeldError)):
				refused++
			default:
				t.Errorf("Acquire through %s: %v", h.Host, err)
			}
		})
	}
	wg.Wait()
	if len(winners) != 1 || refused != racers-1 {
		t.Fatalf("racing through two members: %d won, %d refused; want 1 and %d", len(winners), refused, racers-1)
	}
	won := winners[0]
	for _, m := range ms {
		v, _, err := connect(t, m).ServerConfigKey(ctx, lease.Key(owner))
		if err != nil || !strings.Contains(v, `"id":"`+won.Record().Holder.ID+`"`) {
			t.Fatalf("member %s sees lease %q (%v), want the winner's", m.Name, v, err)
		}
	}
	if err := won.Release(ctx); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if v, _, err := connect(t, m).ServerConfigKey(ctx, lease.Key(owner)); err != nil || v != "" {
			t.Fatalf("member %s still sees the released lease: %q (%v)", m.Name, v, err)
		}
	}
}
