//go:build integration

package lxd

import (
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/lease"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// serverConfig reads the whole server configuration as lxc shows it, minus
// the leases: other tests on the shared sandbox take and drop their own.
func serverConfig(t *testing.T, r *Remote) map[string]string {
	t.Helper()
	srv, _, err := r.client(testCtx(t)).GetServer()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range srv.Config {
		if !strings.HasPrefix(k, lease.KeyPrefix) {
			out[k], _ = v.(string)
		}
	}
	return out
}

// TestLeaseOnServerConfig takes, contests, lets expire and releases a lease
// in the real server configuration (LXD over its unix socket, and over
// pinned HTTPS), checking that no other server key is ever touched.
func TestLeaseOnServerConfig(t *testing.T) {
	bothDaemons(t, func(t *testing.T, d *sandbox.Daemon, r *Remote) {
		ctx := testCtx(t)
		owner := sandbox.UniqueName(t, "lease")
		key := lease.Key(owner)
		// A key of our own beside the lease, with characters JSON and
		// YAML would both escape, must come through byte-identical.
		sentinel, sentinelValue := "user.lxnetd-test."+owner, "a \"quoted\" value\nwith: yaml {chars}"
		if err := r.SetServerConfigKey(ctx, sentinel, sentinelValue, ""); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			d.Lxc(t, "config", "unset", sentinel)
			if _, err := d.LxcErr("config", "unset", key); err != nil {
				t.Logf("unset %s: %v", key, err)
			}
		})
		before := serverConfig(t, r)

		// A stale ETag is refused with the engine's sentinel.
		_, etag, err := r.ServerConfigKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.SetServerConfigKey(ctx, sentinel+".x", "1", etag); err != nil {
			t.Fatal(err)
		}
		if err := r.SetServerConfigKey(ctx, key, "x", etag); !errors.Is(err, engine.ErrPreconditionFailed) {
			t.Fatalf("write with a stale ETag: %v, want ErrPreconditionFailed", err)
		}
		// (The ETag is a hash of the configuration: unsetting the key
		// makes the old ETag current again.)
		d.Lxc(t, "config", "unset", sentinel+".x")

		// Four writers, each on its own connection, race for the lease:
		// exactly one wins, the others are told who holds it.
		const ttl = 3 * time.Second
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []*lease.Lease
			helds   []*lease.HeldError
		)
		for i := range 4 {
			c := connect(t, d)
			h := lease.Holder{Host: "test", PID: i, Command: "lxnetd test", ID: owner + string(rune('a'+i))}
			wg.Go(func() {
				l, err := lease.Acquire(ctx, c, owner, h, ttl)
				mu.Lock()
				defer mu.Unlock()
				var held *lease.HeldError
				switch {
				case err == nil:
					winners = append(winners, l)
				case errors.As(err, &held):
					helds = append(helds, held)
				default:
					t.Errorf("Acquire %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if len(winners) != 1 || len(helds) != 3 {
			t.Fatalf("racing acquires: %d won, %d refused; want exactly 1 and 3", len(winners), len(helds))
		}
		won := winners[0]
		// A refusal names a racer, not always the winner: LXD checks
		// If-Match outside its write transaction, so two racers' writes can
		// both pass, and a third may read the record that is then
		// overwritten (seen here). The winner is whoever's record stands
		// when Acquire reads it back.
		for _, h := range helds {
			if h.Record.Holder.Command != "lxnetd test" || !strings.HasPrefix(h.Record.Holder.ID, owner) {
				t.Errorf("refusal names %+v, not one of the racers", h.Record.Holder)
			}
		}
		value, _, err := r.ServerConfigKey(ctx, key)
		if err != nil || !strings.Contains(value, `"id":"`+won.Record().Holder.ID+`"`) {
			t.Fatalf("stored lease %q (%v), want the winner's record", value, err)
		}

		// A renewal keeps it; after expiry (never renewed again) another
		// holder gets it, and never before.
		if err := won.Renew(ctx); err != nil {
			t.Fatal(err)
		}
		next := lease.Holder{Host: "test", PID: 99, Command: "lxnetd next", ID: owner + "-next"}
		deadline := time.Now().Add(ttl + 30*time.Second)
		var taken *lease.Lease
		for taken == nil {
			l, err := lease.Acquire(ctx, r, owner, next, ttl)
			switch {
			case err == nil:
				if expires := won.Record().Expires; time.Now().Before(expires) {
					t.Fatalf("lease taken over at %s, before it expired at %s", time.Now(), expires)
				}
				taken = l
			case !errors.As(err, new(*lease.HeldError)):
				t.Fatal(err)
			case time.Now().After(deadline):
				t.Fatalf("lease not taken over by %s", deadline)
			default:
				time.Sleep(100 * time.Millisecond)
			}
		}
		var lost *lease.LostError
		if err := won.Renew(ctx); !errors.As(err, &lost) || lost.Now == nil || lost.Now.Holder != next {
			t.Fatalf("old holder's Renew after takeover: %v, want *LostError naming the new holder", err)
		}
		// The old holder's release leaves the new lease alone; the new
		// holder's removes the key.
		if err := won.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if v, _, _ := r.ServerConfigKey(ctx, key); !strings.Contains(v, next.ID) {
			t.Fatalf("old holder's release changed the lease to %q", v)
		}
		if err := taken.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if v, _, _ := r.ServerConfigKey(ctx, key); v != "" {
			t.Fatalf("released lease still set: %q", v)
		}
		if out := strings.TrimSpace(d.Lxc(t, "config", "get", key)); out != "" {
			t.Fatalf("lxc config get %s = %q after release", key, out)
		}

		after := serverConfig(t, r)
		if !maps.Equal(before, after) {
			t.Fatalf("server configuration changed beyond the lease:\nbefore %q\nafter  %q", before, after)
		}
		if after[sentinel] != sentinelValue {
			t.Fatalf("sentinel = %q, want %q", after[sentinel], sentinelValue)
		}
	})
}
