//go:build integration

package bench

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"testing"
	"time"
)

var soakFlag = flag.Duration("soak", 30*time.Second, "how long the daemon is kept busy with edits and drift before its RSS is measured (issue 12's target is for 10m; 0 skips)")

// soakQuiet is how long the soak waits after its last change before it
// reads the daemon's RSS: the memory it holds, not that of the pass just
// made.
const soakQuiet = 5 * time.Second

// soakOps are what the soak needs from the daemon phase: write the
// configuration with the first port pointing at a target port, delete the
// first forward directly, and wait until the first port's target port in
// LXD is a given one ("" while the forward is missing).
type soakOps struct {
	edit      func(targetPort int)
	drift     func()
	waitPort  func(what, want string) time.Duration
	profile   string // a profile the daemon manages, changed by hand as drift too
	direct    *Direct
	pid       int
	proxy     *Proxy
	firstPort int
}

// soakPhase keeps the daemon busy for d: rounds of a file edit (the first
// port's target port), a hand-deleted forward and a hand-changed profile,
// each waited for until the daemon converged it. Then, after soakQuiet, it
// records the daemon's RSS (and peak) and what the rounds cost: issue 12's
// "RSS < 30 MB after 10 minutes of edits and drift".
func soakPhase(b *testing.B, ctx context.Context, d time.Duration, o soakOps, rep *Report) {
	mark := o.proxy.Mark()
	cpu0 := procCPU(b, o.pid)
	start := time.Now()
	rounds := 0
	var worstEdit, worstDrift time.Duration
	for time.Since(start) < d {
		port := o.firstPort + rounds%2
		o.edit(port)
		worstEdit = max(worstEdit, o.waitPort("soak: edited port", fmt.Sprint(port)))
		o.drift()
		worstDrift = max(worstDrift, o.waitPort("soak: deleted forward restored", fmt.Sprint(port)))
		path := "/1.0/profiles/" + o.profile
		body := fmt.Sprintf(`{"config":{"user.index":"drift-%d"}}`, rounds)
		if _, err := o.direct.Do(ctx, http.MethodPatch, path, []byte(body)); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		for {
			var p struct {
				Config map[string]string `json:"config"`
			}
			if err := o.direct.Get(ctx, path, &p); err != nil {
				b.Fatal(err)
			}
			if v := p.Config["user.index"]; v != "" && v[0] != 'd' {
				break
			}
			if time.Since(t0) > 2*time.Minute {
				b.Fatalf("soak: profile %s not restored within 2 minutes", o.profile)
			}
			time.Sleep(10 * time.Millisecond)
		}
		worstDrift = max(worstDrift, time.Since(t0))
		rounds++
	}
	busy := time.Since(start)
	time.Sleep(soakQuiet)
	rss, hwm := procRSS(b, o.pid)
	cpu := procCPU(b, o.pid) - cpu0
	rep.Add(Row{Phase: fmt.Sprintf("soak: %s of edits and drift, then %s quiet", d, soakQuiet), Subject: "lxnetd run",
		WallMS: msOf(busy), Counts: Count(o.proxy.Since(mark)), CPUMS: msOf(cpu), RSSMiB: rss,
		Note: fmt.Sprintf("%d rounds (edit, forward deleted, profile changed); slowest edit %s, drift %s; RSS now (peak %.1f MiB)",
			rounds, worstEdit.Round(time.Millisecond), worstDrift.Round(time.Millisecond), hwm)})
}
