package daemon

import (
	"testing"
	"testing/synctest"
	"time"
)

// A burst of status changes returns memory once, ReturnMemoryAfter after
// the first; the next burst once more; quiet costs nothing. Fake time.
func TestMemReturnerOncePerBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemReturner()
		calls := 0
		m.free = func() { calls++ }
		done := make(chan struct{})
		defer close(done)
		go func() {
			for {
				select {
				case <-m.timer.C:
					m.fired()
				case <-done:
					return
				}
			}
		}()
		for range 10 {
			m.arm()
			time.Sleep(100 * time.Millisecond)
		}
		synctest.Wait()
		if calls != 0 {
			t.Fatalf("%d returns 1 s into a burst, want 0", calls)
		}
		time.Sleep(ReturnMemoryAfter)
		synctest.Wait()
		if calls != 1 {
			t.Fatalf("%d returns after the burst, want 1", calls)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if calls != 1 {
			t.Fatalf("%d returns after a quiet minute, want still 1", calls)
		}
		m.arm()
		time.Sleep(ReturnMemoryAfter)
		synctest.Wait()
		if calls != 2 {
			t.Fatalf("%d returns after the second burst, want 2", calls)
		}
	})
}
