package daemon

import (
	"math/rand/v2"
	"time"
)

// backoff is exponential backoff with jitter: each failure doubles the delay
// from min up to max, and the returned wait is drawn uniformly from
// [d/2, d) so remotes that failed together do not retry in lockstep.
type backoff struct {
	min, max time.Duration
	cur      time.Duration
}

// next returns the wait before the next attempt and grows the delay.
func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur *= 2
		if b.cur > b.max {
			b.cur = b.max
		}
	}
	half := b.cur / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

// reset forgets past failures after a success.
func (b *backoff) reset() { b.cur = 0 }
