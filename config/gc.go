package config

import (
	"os"
	"runtime/debug"
	"sync"
)

// LoadGCPercent is the collector's target (GOGC) while a Load runs.
//
// A load allocates ~200 times the size of its source, nearly all of it
// garbage by its end: hclsyntax's lexer appends every token to one slice
// (grown in 1.25× steps once large: ~27 MB allocated for a 215 KB file of
// 2000 forward ports), then the parser and the evaluator build their
// trees. Against the daemon's ~3 MB live heap the default GOGC=100
// collects a dozen times during one such load, and the collector's work
// (mark, assists, preemption) was half its wall time: measured (config's
// BenchmarkLoadHostScale, 2 cores), 118 ms per load at GOGC=100, 77 ms at
// 200, 58 ms at 400; its CPU, the collector's other threads included,
// hardly changes. The heap a load needs is freed when it ends and the
// daemon hands it back to the kernel after the pass
// (internal/daemon/memory.go), so the price is a higher peak during the
// load only.
const LoadGCPercent = 400

// gcDuringLoads raises GOGC to LoadGCPercent while at least one Load runs
// and puts back what was set before when the last one ends (loads may run
// concurrently: tests, a daemon reload beside a plan). An operator's GOGC
// in the environment is left alone.
var gcDuringLoads struct {
	sync.Mutex
	running int
	before  int
}

// relaxGC is called at the start of a Load; the function it returns at its
// end.
func relaxGC() (restore func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	g := &gcDuringLoads
	g.Lock()
	if g.running == 0 {
		g.before = debug.SetGCPercent(LoadGCPercent)
	}
	g.running++
	g.Unlock()
	return func() {
		g.Lock()
		if g.running--; g.running == 0 {
			debug.SetGCPercent(g.before)
		}
		g.Unlock()
	}
}
