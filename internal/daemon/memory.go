package daemon

import (
	"runtime/debug"
	"time"
)

// ReturnMemoryAfter is how long after a status change (a pass starting or
// ending) or a finished load of the configuration the daemon hands the
// memory they freed back to the kernel.
const ReturnMemoryAfter = 2 * time.Second

// memReturner gives the memory a pass freed back to the kernel soon after
// the pass, at most once per ReturnMemoryAfter.
//
// A pass at host scale (2000 forward ports, 200 profiles, 200 containers)
// allocates several times the ~3 MB the daemon holds between passes, and
// the Go runtime keeps the freed pages for the next allocation: its
// background scavenger returns only what lies beyond the last heap goal,
// slowly, so an idle daemon stayed at 33.5 MiB RSS after activity (the
// benchmark's full-scale table before this; the binary's own pages are
// ~21 MiB of it on this kernel). debug.FreeOSMemory is one forced GC of
// the live heap (a few ms at that scale) plus returning the free pages;
// once per quiet moment it keeps RSS near the live heap at the cost of
// faulting pages in again on the next pass. A GOMEMLIMIT low enough to do
// the same would make every large pass and load collect continuously (see
// README, "Memory"); this costs at most one collection per
// ReturnMemoryAfter, whatever the activity.
type memReturner struct {
	timer *time.Timer
	armed bool
	free  func() // debug.FreeOSMemory; tests count calls
}

func newMemReturner() *memReturner {
	return &memReturner{timer: stoppedTimer(), free: debug.FreeOSMemory}
}

// arm schedules a return ReturnMemoryAfter from now, unless one is
// scheduled already.
func (m *memReturner) arm() {
	if !m.armed {
		m.armed = true
		m.timer.Reset(ReturnMemoryAfter)
	}
}

// fired is the timer's tick: return the memory.
func (m *memReturner) fired() {
	m.armed = false
	m.free()
}
