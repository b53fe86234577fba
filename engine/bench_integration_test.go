//go:build integration

package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// BenchmarkForwardPorts measures, on a private sandbox LXD and in the same
// run, the baseline of what per-port tools do (one forward per port, created
// one after another) against lxnetd's plan+apply of the same ports packed into
// one forward per listen address. It reports both times and their ratio.
//
//	make bench
func BenchmarkForwardPorts(b *testing.B) {
	const ports = 100
	d := sandbox.Private(b)
	r := connect(b, d.Remote())
	bridge := sandbox.UniqueName(b, "lxbn")
	subnet := sandbox.AllocSubnet(b)
	base := strings.TrimSuffix(subnet, "0/24")
	d.Lxc(b, "network", "create", bridge, "ipv4.address="+base+"1/24", "ipv6.address=none")
	b.Cleanup(func() { _, _ = d.LxcErr("network", "delete", bridge) })
	ctx := context.Background()

	for b.Loop() {
		// Baseline: one forward per port.
		start := time.Now()
		for i := range ports {
			f := engine.Forward{Network: bridge, ListenAddress: fmt.Sprintf("203.0.113.%d", 1+i),
				Ports: []engine.ForwardPort{{Protocol: "tcp", ListenPort: "80", TargetAddress: base + "10"}}}
			if err := r.CreateForward(ctx, f); err != nil {
				b.Fatal(err)
			}
		}
		baseline := time.Since(start)
		for i := range ports {
			if err := r.DeleteForward(ctx, bridge, fmt.Sprintf("203.0.113.%d", 1+i), ""); err != nil {
				b.Fatal(err)
			}
		}

		// lxnetd: the same ports on one listen address, planned and applied.
		want := d.Remote()
		fw := spec.Forward{Meta: spec.Meta{Addr: "forward.bench"}, Network: bridge, ListenAddress: "203.0.113.250"}
		for i := range ports {
			fw.Ports = append(fw.Ports, spec.ForwardPort{ListenPort: fmt.Sprint(10000 + i), TargetAddress: base + "10", TargetPort: "80"})
		}
		want.Forwards = []spec.Forward{fw}
		s := spec.Settings{Owner: "bench-" + bridge}
		start = time.Now()
		p, err := engine.NewPlan(ctx, r, &want, s, engine.PlanOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := engine.Apply(ctx, r, p, engine.ApplyOptions{}); err != nil {
			b.Fatal(err)
		}
		packed := time.Since(start)
		if err := r.DeleteForward(ctx, bridge, "203.0.113.250", ""); err != nil {
			b.Fatal(err)
		}

		b.ReportMetric(float64(baseline.Milliseconds()), "baseline-ms")
		b.ReportMetric(float64(packed.Milliseconds()), "lxnetd-ms")
		b.ReportMetric(float64(baseline)/float64(packed), "x-faster")
	}
}

// BenchmarkNoOpPlan measures a no-op plan over n owned profiles on real LXD
// against the baseline of the same plan over one profile, measured in the
// same run: the request count stays 3 + bridges, the time grows only with
// LXD's list payload.
func BenchmarkNoOpPlan(b *testing.B) {
	const n = 200
	d := sandbox.Private(b)
	r := connect(b, d.Remote())
	prefix := sandbox.UniqueName(b, "bp")
	ctx := context.Background()
	build := func(k int) *spec.Remote {
		want := d.Remote()
		for i := range k {
			name := fmt.Sprintf("%s-%d", prefix, i)
			want.Profiles = append(want.Profiles, spec.Profile{Meta: spec.Meta{Addr: "profile." + name}, Name: name,
				Config: map[string]string{"user.index": fmt.Sprint(i)}})
		}
		return &want
	}
	s := spec.Settings{Owner: "bench-" + prefix}
	b.Cleanup(func() {
		if p, err := engine.NewPlan(ctx, r, &spec.Remote{Name: r.Name()}, s, engine.PlanOptions{}); err == nil {
			_, _ = engine.Apply(ctx, r, p, engine.ApplyOptions{})
		}
	})
	measure := func(want *spec.Remote) (time.Duration, int64) {
		p, err := engine.NewPlan(ctx, r, want, s, engine.PlanOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := engine.Apply(ctx, r, p, engine.ApplyOptions{}); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		p, err = engine.NewPlan(ctx, r, want, s, engine.PlanOptions{})
		if err != nil || !p.Empty() {
			b.Fatalf("no-op plan: %v %v", err, p)
		}
		return time.Since(start), p.Requests
	}
	for b.Loop() {
		one, reqOne := measure(build(1))
		many, reqMany := measure(build(n))
		b.ReportMetric(float64(one.Microseconds())/1000, "baseline-1-ms")
		b.ReportMetric(float64(many.Microseconds())/1000, "n200-ms")
		b.ReportMetric(float64(many)/float64(one), "time-ratio")
		b.ReportMetric(float64(reqMany)/float64(reqOne), "request-ratio")
	}
}
