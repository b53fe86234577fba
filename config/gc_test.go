package config

import (
	"os"
	"runtime/debug"
	"sync"
	"testing"
)

// Concurrent loads raise GOGC once and the last one puts back what was set
// before, whatever order they end in.
func TestRelaxGCRestoresAfterOverlappingLoads(t *testing.T) {
	t.Setenv("GOGC", "") // restored after the test; unset meanwhile
	if err := os.Unsetenv("GOGC"); err != nil {
		t.Fatal(err)
	}
	before := debug.SetGCPercent(77)
	defer debug.SetGCPercent(before)

	first := relaxGC()
	if got := debug.SetGCPercent(LoadGCPercent); got != LoadGCPercent {
		t.Fatalf("during a load GOGC = %d, want %d", got, LoadGCPercent)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { relaxGC()() })
	}
	wg.Wait()
	if got := debug.SetGCPercent(LoadGCPercent); got != LoadGCPercent {
		t.Fatalf("after overlapping loads, with the first still running: GOGC = %d, want %d", got, LoadGCPercent)
	}
	first()
	if got := debug.SetGCPercent(77); got != 77 {
		t.Fatalf("after the last load GOGC = %d, want the 77 set before", got)
	}
}

// An operator's GOGC is left alone.
func TestRelaxGCKeepsTheOperatorsGOGC(t *testing.T) {
	t.Setenv("GOGC", "150")
	before := debug.SetGCPercent(150)
	defer debug.SetGCPercent(before)
	restore := relaxGC()
	if got := debug.SetGCPercent(150); got != 150 {
		t.Fatalf("with GOGC=150 in the environment a load set GOGC %d", got)
	}
	restore()
}
