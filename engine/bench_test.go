package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/enginetest"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// BenchmarkPlanCPU measures the engine's own cost of a no-op plan (fake
// remote, no I/O) over 1000 nodes, profiles and forwards against the baseline
// of 10 of each, in the same run: the per-object cost should stay flat.
func BenchmarkPlanCPU(b *testing.B) {
	build := func(n int) (*enginetest.Fake, *spec.Remote) {
		f := enginetest.New("local")
		d := web()
		for i := range n {
			d.Profiles = append(d.Profiles, spec.Profile{Meta: spec.Meta{Addr: fmt.Sprintf("profile.p%d", i)}, Name: fmt.Sprintf("p%d", i),
				Config: map[string]string{"user.n": fmt.Sprint(i)}})
			d.Instances = append(d.Instances, spec.Instance{Meta: spec.Meta{Addr: fmt.Sprintf("node.n%d", i)}, Name: fmt.Sprintf("n%d", i),
				Image: "busybox", Devices: map[string]spec.Device{"eth0": {"type": "nic", "network": "br0"}}})
			d.Forwards = append(d.Forwards, spec.Forward{Meta: spec.Meta{Addr: fmt.Sprintf("forward.f%d", i)}, Network: "br0",
				ListenAddress: fmt.Sprintf("203.0.%d.%d", 113+i/250, 1+i%250), Ports: []spec.ForwardPort{{ListenPort: "80", TargetAddress: "10.231.1.10"}}})
		}
		p, err := engine.NewPlan(context.Background(), f, d, settings, engine.PlanOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := engine.Apply(context.Background(), f, p, engine.ApplyOptions{}); err != nil {
			b.Fatal(err)
		}
		return f, d
	}
	time1 := func(f *enginetest.Fake, d *spec.Remote) time.Duration {
		start := time.Now()
		p, err := engine.NewPlan(context.Background(), f, d, settings, engine.PlanOptions{})
		if err != nil || !p.Empty() {
			b.Fatalf("no-op plan: %v", err)
		}
		return time.Since(start)
	}
	fs, ds := build(10)
	fl, dl := build(1000)
	var small, large time.Duration
	for b.Loop() {
		small += time1(fs, ds)
		large += time1(fl, dl)
	}
	perSmall := float64(small) / float64(b.N) / (3*10 + 4)
	perLarge := float64(large) / float64(b.N) / (3*1000 + 4)
	b.ReportMetric(perSmall, "ns/object-n10")
	b.ReportMetric(perLarge, "ns/object-n1000")
	b.ReportMetric(perLarge/perSmall, "per-object-ratio")
}
