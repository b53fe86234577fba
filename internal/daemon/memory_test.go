package daemon

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A burst of status changes returns memory once, ReturnMemoryAfter after
// the first; the next burst once more; quiet costs nothing. Fake time.
func TestMemReturnerOncePerBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemReturner()
		var calls atomic.Int32
		m.free = func() { calls.Add(1) }
		// arm and fired run on one goroutine, as on the daemon's loop.
		armC, done := make(chan struct{}), make(chan struct{})
		defer close(done)
		go func() {
			for {
				select {
				case <-armC:
					m.arm()
				case <-m.timer.C:
					m.fired()
				case <-done:
					return
				}
			}
		}()
		arm := func() { armC <- struct{}{} }
		for range 10 {
			arm()
			time.Sleep(100 * time.Millisecond)
		}
		synctest.Wait()
		if calls.Load() != 0 {
			t.Fatalf("%d returns 1 s into a burst, want 0", calls.Load())
		}
		time.Sleep(ReturnMemoryAfter)
		synctest.Wait()
		if calls.Load() != 1 {
			t.Fatalf("%d returns after the burst, want 1", calls.Load())
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if calls.Load() != 1 {
			t.Fatalf("%d returns after a quiet minute, want still 1", calls.Load())
		}
		arm()
		time.Sleep(ReturnMemoryAfter)
		synctest.Wait()
		if calls.Load() != 2 {
			t.Fatalf("%d returns after the second burst, want 2", calls.Load())
		}
	})
}
